-- Organisations and their users. E-mail addresses are stored normalised (trimmed, lower-case)
-- and unique across the platform: a login identifies exactly one user.
CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations (id),
    email            text NOT NULL CHECK (email = lower(btrim(email)) AND length(email) <= 320),
    role             text NOT NULL CHECK (role IN ('admin', 'member')),
    language         text NOT NULL CHECK (language IN ('nl', 'fr', 'en', 'de')),
    active           boolean NOT NULL DEFAULT true,
    password_hash    text NOT NULL,
    password_score   smallint CHECK (password_score BETWEEN 0 AND 4),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE INDEX users_organization_idx ON users (organization_id);
