// The page's own strings in the four display languages (the services localize what they send:
// password-quality labels, rule messages, notification titles and bodies).

export const LANGUAGES = ["nl", "fr", "en", "de"];

const STRINGS = {
  en: {
    page_title: "Clochette — personal settings",
    skip: "Skip to content",
    brand: "Clochette",
    loading: "Loading…",
    logout: "Log out",
    bell: "Notifications",
    bell_unread: "Notifications, {count} unread",
    notifications: "Notifications",
    mark_all_read: "Mark all as read",
    load_more: "Show older notifications",
    no_notifications: "No notifications yet.",
    unread: "Unread",
    close: "Close",
    // The bell, second version: tabs, groups, per-item actions, preferences.
    bell_tabs: "Kinds of notification",
    tab_action: "Action needed",
    tab_info: "Information",
    tab_security: "Security",
    tab_archive: "Archive",
    bell_tab_unread: "{label}, {count} unread",
    bell_archive_empty: "Nothing archived.",
    bell_mark_unread: "Mark “{title}” as unread",
    bell_archive: "Archive “{title}”",
    bell_restore: "Restore “{title}” from the archive",
    bell_group_count: "{count} notifications",
    bell_group_read: "Mark these as read",
    bell_preferences: "Notification settings",
    bell_prefs_heading: "Which notifications to show",
    bell_prefs_explain:
      "Untick a kind to hide it: its notifications are kept and come back when you tick it again.",
    bell_prefs_save: "Save",
    bell_prefs_back: "Back to the notifications",
    bell_prefs_saved: "Your notification settings were saved.",
    bell_locked_action: "Always shown: it asks you to do something.",
    bell_locked_security: "Always shown: it concerns the security of your account.",
    bell_double_payment_note: "A double payment is always shown.",
    type_reminder_created: "Reminders sent",
    type_subscription_invoiced: "Invoices created from subscriptions",
    type_payment_received: "Payments received",
    type_peppol_failed: "Peppol sends that failed",
    type_offer_signed: "Offers signed online",
    type_inbox_received: "Messages in your inbox",
    type_mail_failed: "E-mails that could not be delivered",
    type_security_password_changed: "Password changed",
    type_security_two_factor_enabled: "Two-factor authentication turned on",
    type_security_two_factor_disabled: "Two-factor authentication turned off",
    type_security_suspicious_codes: "Suspicious second-factor codes",
    type_security_recovery_codes_regenerated: "New recovery codes",
    type_security_recovery_code_used: "Recovery code used",
    type_security_new_sign_in: "Sign-in from a new device",
    login_heading: "Log in",
    email: "E-mail address",
    password: "Password",
    login_submit: "Log in",
    mfa_heading: "Two-step verification",
    mfa_explain: "Enter the 6-digit code from your authenticator app, or one of your recovery codes.",
    mfa_code: "Code",
    mfa_submit: "Verify",
    start_over: "Start over",
    err_credentials: "The e-mail address or the password is not correct.",
    err_throttled: "Too many attempts. Try again in {seconds} seconds.",
    err_second_factor: "That code is not valid.",
    err_network: "The service cannot be reached. Check your connection and try again.",
    err_session: "Your session has ended. Please log in again.",
    err_generic: "Something went wrong: {detail}",
    settings_heading: "Personal settings",
    language_heading: "Display language",
    language_label: "Language",
    language_saved: "The display language was changed.",
    email_heading: "Login e-mail",
    email_explain:
      "You cannot change your own login e-mail. An administrator of your organisation must create a new user with the new address.",
    password_heading: "Password",
    current_password: "Current password",
    new_password: "New password",
    confirm_password: "Repeat the new password",
    password_submit: "Change password",
    password_changed: "Your password was changed. Your other sessions were logged out.",
    quality: "Password quality",
    quality_empty: "Type a new password to see its quality.",
    two_factor_heading: "Two-factor authentication",
    two_factor_off:
      "Two-factor authentication is off. Protect your account with a code from an authenticator app.",
    two_factor_on: "Two-factor authentication is on. Phone number: {phone}",
    activate: "Activate",
    deactivate: "Deactivate",
    cancel: "Cancel",
    phone_label: "Mobile phone number",
    phone_hint: "We send a 6-digit code by SMS to confirm the number.",
    send_code: "Send code",
    sms_sent: "A code was sent by SMS.",
    sms_code: "Code from the SMS",
    confirm_phone: "Confirm number",
    qr_explain:
      "Scan this QR code with your authenticator app (or type in the key below), then enter the code the app shows.",
    qr_alt: "QR code that adds Clochette to an authenticator app",
    secret_label: "Key for manual entry",
    app_code: "Code from the app",
    activate_submit: "Activate two-factor authentication",
    recovery_heading: "Your recovery codes",
    recovery_explain:
      "Keep these codes somewhere safe: each one lets you log in once without your phone. They are shown only now.",
    recovery_done: "I have saved my codes",
    deactivate_explain:
      "Enter your password and a code from your authenticator app (or an unused recovery code) to turn two-factor authentication off.",
    step_up_code: "Code from your app, or a recovery code",
    renew_codes: "New recovery codes",
    renew_explain:
      "Enter your password and a code from your authenticator app (or an unused recovery code). Your current recovery codes will stop working.",
    renew_submit: "Create new recovery codes",
    recovery_codes_renewed: "New recovery codes were created; the previous ones no longer work.",
    err_second_factor_required:
      "Two-factor authentication is on: also enter a code from your authenticator app or a recovery code.",
    err_two_factor_not_enabled: "Two-factor authentication is already off.",
    err_sms_cooldown: "A code was sent a moment ago. You can ask for a new one {when}.",
    err_sms_user: "You have asked for too many codes. You can ask again {when}.",
    err_sms_number: "Too many codes were sent to this number. You can ask again {when}.",
    err_sms_organization:
      "Your organisation has asked for too many codes. You can ask again {when}.",
    deactivate_submit: "Deactivate two-factor authentication",
    two_factor_enabled: "Two-factor authentication is now on.",
    two_factor_disabled: "Two-factor authentication is now off.",
  },
  nl: {
    page_title: "Clochette — persoonlijke instellingen",
    skip: "Naar de inhoud",
    brand: "Clochette",
    loading: "Bezig met laden…",
    logout: "Afmelden",
    bell: "Meldingen",
    bell_unread: "Meldingen, {count} ongelezen",
    notifications: "Meldingen",
    mark_all_read: "Alles als gelezen markeren",
    load_more: "Oudere meldingen tonen",
    no_notifications: "Nog geen meldingen.",
    unread: "Ongelezen",
    close: "Sluiten",
    // The bell, second version: tabs, groups, per-item actions, preferences.
    bell_tabs: "Soorten meldingen",
    tab_action: "Actie nodig",
    tab_info: "Informatie",
    tab_security: "Beveiliging",
    tab_archive: "Archief",
    bell_tab_unread: "{label}, {count} ongelezen",
    bell_archive_empty: "Niets gearchiveerd.",
    bell_mark_unread: "“{title}” als ongelezen markeren",
    bell_archive: "“{title}” archiveren",
    bell_restore: "“{title}” terugzetten uit het archief",
    bell_group_count: "{count} meldingen",
    bell_group_read: "Deze als gelezen markeren",
    bell_preferences: "Instellingen voor meldingen",
    bell_prefs_heading: "Welke meldingen je ziet",
    bell_prefs_explain:
      "Vink een soort uit om ze te verbergen: de meldingen blijven bewaard en komen terug zodra je ze weer aanvinkt.",
    bell_prefs_save: "Opslaan",
    bell_prefs_back: "Terug naar de meldingen",
    bell_prefs_saved: "Je instellingen voor meldingen zijn opgeslagen.",
    bell_locked_action: "Altijd zichtbaar: je moet er iets mee doen.",
    bell_locked_security: "Altijd zichtbaar: het gaat over de beveiliging van je account.",
    bell_double_payment_note: "Een dubbele betaling blijft altijd zichtbaar.",
    type_reminder_created: "Verstuurde herinneringen",
    type_subscription_invoiced: "Facturen uit abonnementen",
    type_payment_received: "Ontvangen betalingen",
    type_peppol_failed: "Mislukte Peppol-verzendingen",
    type_offer_signed: "Online ondertekende offertes",
    type_inbox_received: "Berichten in je inbox",
    type_mail_failed: "Niet afgeleverde e-mails",
    type_security_password_changed: "Wachtwoord gewijzigd",
    type_security_two_factor_enabled: "Tweestapsverificatie aangezet",
    type_security_two_factor_disabled: "Tweestapsverificatie uitgezet",
    type_security_suspicious_codes: "Verdachte verificatiecodes",
    type_security_recovery_codes_regenerated: "Nieuwe herstelcodes",
    type_security_recovery_code_used: "Herstelcode gebruikt",
    type_security_new_sign_in: "Aanmelding vanaf een nieuw toestel",
    login_heading: "Aanmelden",
    email: "E-mailadres",
    password: "Wachtwoord",
    login_submit: "Aanmelden",
    mfa_heading: "Verificatie in twee stappen",
    mfa_explain: "Geef de code van 6 cijfers uit je authenticator-app in, of een van je herstelcodes.",
    mfa_code: "Code",
    mfa_submit: "Verifiëren",
    start_over: "Opnieuw beginnen",
    err_credentials: "Het e-mailadres of het wachtwoord is niet juist.",
    err_throttled: "Te veel pogingen. Probeer het opnieuw over {seconds} seconden.",
    err_second_factor: "Die code is niet geldig.",
    err_network: "De dienst is niet bereikbaar. Controleer je verbinding en probeer opnieuw.",
    err_session: "Je sessie is afgelopen. Meld je opnieuw aan.",
    err_generic: "Er ging iets mis: {detail}",
    settings_heading: "Persoonlijke instellingen",
    language_heading: "Weergavetaal",
    language_label: "Taal",
    language_saved: "De weergavetaal is gewijzigd.",
    email_heading: "Aanmeld-e-mailadres",
    email_explain:
      "Je kunt je eigen aanmeld-e-mailadres niet wijzigen. Een beheerder van je organisatie moet een nieuwe gebruiker met het nieuwe adres aanmaken.",
    password_heading: "Wachtwoord",
    current_password: "Huidig wachtwoord",
    new_password: "Nieuw wachtwoord",
    confirm_password: "Herhaal het nieuwe wachtwoord",
    password_submit: "Wachtwoord wijzigen",
    password_changed: "Je wachtwoord is gewijzigd. Je andere sessies zijn afgemeld.",
    quality: "Wachtwoordsterkte",
    quality_empty: "Typ een nieuw wachtwoord om de sterkte te zien.",
    two_factor_heading: "Tweestapsverificatie",
    two_factor_off:
      "Tweestapsverificatie staat uit. Bescherm je account met een code uit een authenticator-app.",
    two_factor_on: "Tweestapsverificatie staat aan. Telefoonnummer: {phone}",
    activate: "Activeren",
    deactivate: "Deactiveren",
    cancel: "Annuleren",
    phone_label: "Gsm-nummer",
    phone_hint: "We sturen een code van 6 cijfers per sms om het nummer te bevestigen.",
    send_code: "Code versturen",
    sms_sent: "Er is een code per sms verstuurd.",
    sms_code: "Code uit de sms",
    confirm_phone: "Nummer bevestigen",
    qr_explain:
      "Scan deze QR-code met je authenticator-app (of typ de sleutel hieronder over) en geef daarna de code in die de app toont.",
    qr_alt: "QR-code die Clochette aan een authenticator-app toevoegt",
    secret_label: "Sleutel om over te typen",
    app_code: "Code uit de app",
    activate_submit: "Tweestapsverificatie activeren",
    recovery_heading: "Je herstelcodes",
    recovery_explain:
      "Bewaar deze codes op een veilige plek: met elke code kun je je één keer aanmelden zonder je telefoon. Ze worden alleen nu getoond.",
    recovery_done: "Ik heb mijn codes bewaard",
    deactivate_explain:
      "Geef je wachtwoord en een code uit je authenticator-app (of een ongebruikte herstelcode) in om tweestapsverificatie uit te zetten.",
    step_up_code: "Code uit je app, of een herstelcode",
    renew_codes: "Nieuwe herstelcodes",
    renew_explain:
      "Geef je wachtwoord en een code uit je authenticator-app (of een ongebruikte herstelcode) in. Je huidige herstelcodes werken daarna niet meer.",
    renew_submit: "Nieuwe herstelcodes aanmaken",
    recovery_codes_renewed: "Er zijn nieuwe herstelcodes aangemaakt; de vorige werken niet meer.",
    err_second_factor_required:
      "Tweestapsverificatie staat aan: geef ook een code uit je authenticator-app of een herstelcode in.",
    err_two_factor_not_enabled: "Tweestapsverificatie staat al uit.",
    err_sms_cooldown: "Er werd net een code verstuurd. Je kunt {when} een nieuwe vragen.",
    err_sms_user: "Je hebt te veel codes gevraagd. Je kunt {when} opnieuw een code vragen.",
    err_sms_number:
      "Er werden te veel codes naar dit nummer gestuurd. Je kunt {when} opnieuw een code vragen.",
    err_sms_organization:
      "Je organisatie heeft te veel codes gevraagd. Je kunt {when} opnieuw een code vragen.",
    deactivate_submit: "Tweestapsverificatie deactiveren",
    two_factor_enabled: "Tweestapsverificatie staat nu aan.",
    two_factor_disabled: "Tweestapsverificatie staat nu uit.",
  },
  fr: {
    page_title: "Clochette — paramètres personnels",
    skip: "Aller au contenu",
    brand: "Clochette",
    loading: "Chargement…",
    logout: "Se déconnecter",
    bell: "Notifications",
    bell_unread: "Notifications, {count} non lues",
    notifications: "Notifications",
    mark_all_read: "Tout marquer comme lu",
    load_more: "Afficher les notifications plus anciennes",
    no_notifications: "Aucune notification pour l’instant.",
    unread: "Non lue",
    close: "Fermer",
    // The bell, second version: tabs, groups, per-item actions, preferences.
    bell_tabs: "Types de notifications",
    tab_action: "Action requise",
    tab_info: "Information",
    tab_security: "Sécurité",
    tab_archive: "Archives",
    bell_tab_unread: "{label}, {count} non lues",
    bell_archive_empty: "Rien n’est archivé.",
    bell_mark_unread: "Marquer « {title} » comme non lu",
    bell_archive: "Archiver « {title} »",
    bell_restore: "Sortir « {title} » des archives",
    bell_group_count: "{count} notifications",
    bell_group_read: "Marquer celles-ci comme lues",
    bell_preferences: "Réglages des notifications",
    bell_prefs_heading: "Notifications à afficher",
    bell_prefs_explain:
      "Décochez un type pour le masquer : ses notifications sont conservées et reviennent dès que vous le cochez à nouveau.",
    bell_prefs_save: "Enregistrer",
    bell_prefs_back: "Retour aux notifications",
    bell_prefs_saved: "Vos réglages des notifications ont été enregistrés.",
    bell_locked_action: "Toujours affiché : une action de votre part est requise.",
    bell_locked_security: "Toujours affiché : cela concerne la sécurité de votre compte.",
    bell_double_payment_note: "Un double paiement est toujours affiché.",
    type_reminder_created: "Rappels envoyés",
    type_subscription_invoiced: "Factures créées à partir d’abonnements",
    type_payment_received: "Paiements reçus",
    type_peppol_failed: "Envois Peppol échoués",
    type_offer_signed: "Offres signées en ligne",
    type_inbox_received: "Messages dans votre boîte de réception",
    type_mail_failed: "E-mails non distribués",
    type_security_password_changed: "Mot de passe modifié",
    type_security_two_factor_enabled: "Authentification à deux facteurs activée",
    type_security_two_factor_disabled: "Authentification à deux facteurs désactivée",
    type_security_suspicious_codes: "Codes de vérification suspects",
    type_security_recovery_codes_regenerated: "Nouveaux codes de récupération",
    type_security_recovery_code_used: "Code de récupération utilisé",
    type_security_new_sign_in: "Connexion depuis un nouvel appareil",
    login_heading: "Connexion",
    email: "Adresse e-mail",
    password: "Mot de passe",
    login_submit: "Se connecter",
    mfa_heading: "Vérification en deux étapes",
    mfa_explain:
      "Saisissez le code à 6 chiffres de votre application d’authentification, ou l’un de vos codes de récupération.",
    mfa_code: "Code",
    mfa_submit: "Vérifier",
    start_over: "Recommencer",
    err_credentials: "L’adresse e-mail ou le mot de passe est incorrect.",
    err_throttled: "Trop de tentatives. Réessayez dans {seconds} secondes.",
    err_second_factor: "Ce code n’est pas valable.",
    err_network: "Le service est injoignable. Vérifiez votre connexion et réessayez.",
    err_session: "Votre session a pris fin. Veuillez vous reconnecter.",
    err_generic: "Une erreur s’est produite : {detail}",
    settings_heading: "Paramètres personnels",
    language_heading: "Langue d’affichage",
    language_label: "Langue",
    language_saved: "La langue d’affichage a été modifiée.",
    email_heading: "E-mail de connexion",
    email_explain:
      "Vous ne pouvez pas modifier votre propre e-mail de connexion. Un administrateur de votre organisation doit créer un nouvel utilisateur avec la nouvelle adresse.",
    password_heading: "Mot de passe",
    current_password: "Mot de passe actuel",
    new_password: "Nouveau mot de passe",
    confirm_password: "Répétez le nouveau mot de passe",
    password_submit: "Modifier le mot de passe",
    password_changed: "Votre mot de passe a été modifié. Vos autres sessions ont été fermées.",
    quality: "Qualité du mot de passe",
    quality_empty: "Tapez un nouveau mot de passe pour voir sa qualité.",
    two_factor_heading: "Authentification à deux facteurs",
    two_factor_off:
      "L’authentification à deux facteurs est désactivée. Protégez votre compte avec un code d’une application d’authentification.",
    two_factor_on: "L’authentification à deux facteurs est activée. Numéro de téléphone : {phone}",
    activate: "Activer",
    deactivate: "Désactiver",
    cancel: "Annuler",
    phone_label: "Numéro de GSM",
    phone_hint: "Nous envoyons un code à 6 chiffres par SMS pour confirmer le numéro.",
    send_code: "Envoyer le code",
    sms_sent: "Un code a été envoyé par SMS.",
    sms_code: "Code reçu par SMS",
    confirm_phone: "Confirmer le numéro",
    qr_explain:
      "Scannez ce code QR avec votre application d’authentification (ou saisissez la clé ci-dessous), puis entrez le code affiché par l’application.",
    qr_alt: "Code QR qui ajoute Clochette à une application d’authentification",
    secret_label: "Clé à saisir manuellement",
    app_code: "Code de l’application",
    activate_submit: "Activer l’authentification à deux facteurs",
    recovery_heading: "Vos codes de récupération",
    recovery_explain:
      "Conservez ces codes en lieu sûr : chacun permet de vous connecter une fois sans votre téléphone. Ils ne sont affichés qu’une seule fois.",
    recovery_done: "J’ai conservé mes codes",
    deactivate_explain:
      "Saisissez votre mot de passe et un code de votre application d’authentification (ou un code de récupération inutilisé) pour désactiver l’authentification à deux facteurs.",
    step_up_code: "Code de l’application, ou code de récupération",
    renew_codes: "Nouveaux codes de récupération",
    renew_explain:
      "Saisissez votre mot de passe et un code de votre application d’authentification (ou un code de récupération inutilisé). Vos codes de récupération actuels cesseront de fonctionner.",
    renew_submit: "Créer de nouveaux codes de récupération",
    recovery_codes_renewed:
      "De nouveaux codes de récupération ont été créés ; les précédents ne fonctionnent plus.",
    err_second_factor_required:
      "L’authentification à deux facteurs est activée : saisissez aussi un code de votre application ou un code de récupération.",
    err_two_factor_not_enabled: "L’authentification à deux facteurs est déjà désactivée.",
    err_sms_cooldown: "Un code vient d’être envoyé. Vous pourrez en demander un nouveau {when}.",
    err_sms_user: "Vous avez demandé trop de codes. Vous pourrez en redemander un {when}.",
    err_sms_number:
      "Trop de codes ont été envoyés à ce numéro. Vous pourrez en redemander un {when}.",
    err_sms_organization:
      "Votre organisation a demandé trop de codes. Vous pourrez en redemander un {when}.",
    deactivate_submit: "Désactiver l’authentification à deux facteurs",
    two_factor_enabled: "L’authentification à deux facteurs est maintenant activée.",
    two_factor_disabled: "L’authentification à deux facteurs est maintenant désactivée.",
  },
  de: {
    page_title: "Clochette — persönliche Einstellungen",
    skip: "Zum Inhalt",
    brand: "Clochette",
    loading: "Wird geladen…",
    logout: "Abmelden",
    bell: "Benachrichtigungen",
    bell_unread: "Benachrichtigungen, {count} ungelesen",
    notifications: "Benachrichtigungen",
    mark_all_read: "Alle als gelesen markieren",
    load_more: "Ältere Benachrichtigungen anzeigen",
    no_notifications: "Noch keine Benachrichtigungen.",
    unread: "Ungelesen",
    close: "Schließen",
    // The bell, second version: tabs, groups, per-item actions, preferences.
    bell_tabs: "Arten von Benachrichtigungen",
    tab_action: "Zu erledigen",
    tab_info: "Information",
    tab_security: "Sicherheit",
    tab_archive: "Archiv",
    bell_tab_unread: "{label}, {count} ungelesen",
    bell_archive_empty: "Nichts archiviert.",
    bell_mark_unread: "„{title}“ als ungelesen markieren",
    bell_archive: "„{title}“ archivieren",
    bell_restore: "„{title}“ aus dem Archiv zurückholen",
    bell_group_count: "{count} Benachrichtigungen",
    bell_group_read: "Diese als gelesen markieren",
    bell_preferences: "Einstellungen für Benachrichtigungen",
    bell_prefs_heading: "Welche Benachrichtigungen Sie sehen",
    bell_prefs_explain:
      "Entfernen Sie den Haken bei einer Art, um sie auszublenden: Ihre Benachrichtigungen bleiben erhalten und erscheinen wieder, sobald Sie den Haken erneut setzen.",
    bell_prefs_save: "Speichern",
    bell_prefs_back: "Zurück zu den Benachrichtigungen",
    bell_prefs_saved: "Ihre Einstellungen für Benachrichtigungen wurden gespeichert.",
    bell_locked_action: "Immer sichtbar: Sie müssen etwas tun.",
    bell_locked_security: "Immer sichtbar: Es betrifft die Sicherheit Ihres Kontos.",
    bell_double_payment_note: "Eine doppelte Zahlung wird immer angezeigt.",
    type_reminder_created: "Versendete Mahnungen",
    type_subscription_invoiced: "Aus Abonnements erstellte Rechnungen",
    type_payment_received: "Eingegangene Zahlungen",
    type_peppol_failed: "Fehlgeschlagene Peppol-Sendungen",
    type_offer_signed: "Online unterschriebene Angebote",
    type_inbox_received: "Nachrichten im Posteingang",
    type_mail_failed: "Nicht zugestellte E-Mails",
    type_security_password_changed: "Passwort geändert",
    type_security_two_factor_enabled: "Zwei-Faktor-Authentifizierung eingeschaltet",
    type_security_two_factor_disabled: "Zwei-Faktor-Authentifizierung ausgeschaltet",
    type_security_suspicious_codes: "Verdächtige Bestätigungscodes",
    type_security_recovery_codes_regenerated: "Neue Wiederherstellungscodes",
    type_security_recovery_code_used: "Wiederherstellungscode verwendet",
    type_security_new_sign_in: "Anmeldung von einem neuen Gerät",
    login_heading: "Anmelden",
    email: "E-Mail-Adresse",
    password: "Passwort",
    login_submit: "Anmelden",
    mfa_heading: "Bestätigung in zwei Schritten",
    mfa_explain:
      "Geben Sie den 6-stelligen Code aus Ihrer Authenticator-App oder einen Ihrer Wiederherstellungscodes ein.",
    mfa_code: "Code",
    mfa_submit: "Bestätigen",
    start_over: "Neu beginnen",
    err_credentials: "Die E-Mail-Adresse oder das Passwort ist nicht korrekt.",
    err_throttled: "Zu viele Versuche. Versuchen Sie es in {seconds} Sekunden erneut.",
    err_second_factor: "Dieser Code ist nicht gültig.",
    err_network:
      "Der Dienst ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
    err_session: "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.",
    err_generic: "Etwas ist schiefgelaufen: {detail}",
    settings_heading: "Persönliche Einstellungen",
    language_heading: "Anzeigesprache",
    language_label: "Sprache",
    language_saved: "Die Anzeigesprache wurde geändert.",
    email_heading: "Anmelde-E-Mail",
    email_explain:
      "Sie können Ihre eigene Anmelde-E-Mail nicht ändern. Ein Administrator Ihrer Organisation muss einen neuen Benutzer mit der neuen Adresse anlegen.",
    password_heading: "Passwort",
    current_password: "Aktuelles Passwort",
    new_password: "Neues Passwort",
    confirm_password: "Neues Passwort wiederholen",
    password_submit: "Passwort ändern",
    password_changed: "Ihr Passwort wurde geändert. Ihre anderen Sitzungen wurden abgemeldet.",
    quality: "Passwortqualität",
    quality_empty: "Geben Sie ein neues Passwort ein, um seine Qualität zu sehen.",
    two_factor_heading: "Zwei-Faktor-Authentifizierung",
    two_factor_off:
      "Die Zwei-Faktor-Authentifizierung ist aus. Schützen Sie Ihr Konto mit einem Code aus einer Authenticator-App.",
    two_factor_on: "Die Zwei-Faktor-Authentifizierung ist an. Telefonnummer: {phone}",
    activate: "Aktivieren",
    deactivate: "Deaktivieren",
    cancel: "Abbrechen",
    phone_label: "Mobilnummer",
    phone_hint: "Wir senden einen 6-stelligen Code per SMS, um die Nummer zu bestätigen.",
    send_code: "Code senden",
    sms_sent: "Ein Code wurde per SMS gesendet.",
    sms_code: "Code aus der SMS",
    confirm_phone: "Nummer bestätigen",
    qr_explain:
      "Scannen Sie diesen QR-Code mit Ihrer Authenticator-App (oder tippen Sie den Schlüssel unten ab) und geben Sie dann den Code ein, den die App anzeigt.",
    qr_alt: "QR-Code, der Clochette zu einer Authenticator-App hinzufügt",
    secret_label: "Schlüssel zur manuellen Eingabe",
    app_code: "Code aus der App",
    activate_submit: "Zwei-Faktor-Authentifizierung aktivieren",
    recovery_heading: "Ihre Wiederherstellungscodes",
    recovery_explain:
      "Bewahren Sie diese Codes sicher auf: Mit jedem können Sie sich einmal ohne Ihr Telefon anmelden. Sie werden nur jetzt angezeigt.",
    recovery_done: "Ich habe meine Codes gespeichert",
    deactivate_explain:
      "Geben Sie Ihr Passwort und einen Code aus Ihrer Authenticator-App (oder einen unbenutzten Wiederherstellungscode) ein, um die Zwei-Faktor-Authentifizierung auszuschalten.",
    step_up_code: "Code aus der App oder Wiederherstellungscode",
    renew_codes: "Neue Wiederherstellungscodes",
    renew_explain:
      "Geben Sie Ihr Passwort und einen Code aus Ihrer Authenticator-App (oder einen unbenutzten Wiederherstellungscode) ein. Ihre bisherigen Wiederherstellungscodes funktionieren danach nicht mehr.",
    renew_submit: "Neue Wiederherstellungscodes erstellen",
    recovery_codes_renewed:
      "Neue Wiederherstellungscodes wurden erstellt; die bisherigen funktionieren nicht mehr.",
    err_second_factor_required:
      "Die Zwei-Faktor-Authentifizierung ist aktiv: Geben Sie auch einen Code aus Ihrer App oder einen Wiederherstellungscode ein.",
    err_two_factor_not_enabled: "Die Zwei-Faktor-Authentifizierung ist bereits ausgeschaltet.",
    err_sms_cooldown: "Soeben wurde ein Code gesendet. Sie können {when} einen neuen anfordern.",
    err_sms_user: "Sie haben zu viele Codes angefordert. Sie können {when} erneut einen anfordern.",
    err_sms_number:
      "An diese Nummer wurden zu viele Codes gesendet. Sie können {when} erneut einen anfordern.",
    err_sms_organization:
      "Ihre Organisation hat zu viele Codes angefordert. Sie können {when} erneut einen anfordern.",
    deactivate_submit: "Zwei-Faktor-Authentifizierung deaktivieren",
    two_factor_enabled: "Die Zwei-Faktor-Authentifizierung ist jetzt an.",
    two_factor_disabled: "Die Zwei-Faktor-Authentifizierung ist jetzt aus.",
  },
};

let current = "en";

/** The language the page starts in before anyone logs in: the browser's first supported one. */
export function preferredLanguage() {
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).slice(0, 2).toLowerCase();
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

export function language() {
  return current;
}

/** A string of the current language with {placeholders} filled in. */
export function t(key, params = {}) {
  const template = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

/** Switch the page: every element with data-i18n (text) or data-i18n-<attr> (attribute). */
export function setLanguage(lang, root = document) {
  current = LANGUAGES.includes(lang) ? lang : "en";
  document.documentElement.lang = current;
  document.title = t("page_title");
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const attribute of ["placeholder", "aria-label", "alt", "title"]) {
    const key = `i18n${attribute.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())}`;
    for (const element of root.querySelectorAll(`[data-i18n-${attribute}]`)) {
      element.setAttribute(attribute, t(element.dataset[key]));
    }
  }
}

/** "3 minutes ago" in the current language (Intl.RelativeTimeFormat). */
export function relativeTime(iso, now = Date.now()) {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(current, { numeric: "auto" });
  const units = [
    ["year", 31536000],
    ["month", 2592000],
    ["week", 604800],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(Math.abs(seconds) < 10 ? 0 : seconds, "second");
}

/** A full date and time for the tooltip of a relative time. */
export function fullTime(iso) {
  return new Intl.DateTimeFormat(current, { dateStyle: "long", timeStyle: "short" }).format(
    new Date(iso),
  );
}

// The Security section of the settings page and the passkey login step (security.js,
// passkeys.js, app.js), merged into the strings above.
const SECURITY_STRINGS = {
  en: {
    two_factor_on_passkeys:
      "Two-factor authentication is on with passkeys ({count}); your recovery codes also work.",
    or: "or",
    use_passkey: "Use a passkey",
    security_heading: "Security",
    sessions_heading: "Where you are logged in",
    sessions_explain:
      "Every browser and app logged in to your account. End a session you do not recognise, then change your password.",
    sessions_end_others: "End all other sessions",
    session_current: "This device",
    session_last_used: "Last active {when}",
    session_created: "logged in {when}",
    session_address: "Address: {address}",
    session_two_factor: "with a second factor",
    session_password_only: "password only",
    session_end: "End",
    session_end_label: "End the session on {device}",
    session_ended: "The session was ended: that device must log in again.",
    sessions_others_ended: "All other sessions were ended.",
    device_unknown: "Unknown device",
    device_on: "{browser} on {os}",
    passkeys_heading: "Passkeys",
    passkeys_explain:
      "With a passkey you confirm your login with this device's fingerprint, face or screen lock instead of typing a code. Your password is still asked first.",
    passkeys_empty: "You have no passkeys yet.",
    passkeys_unsupported:
      "This browser cannot use passkeys on this page (they need a secure connection and a domain name).",
    passkey_add: "Add a passkey",
    passkey_name: "Name of the passkey",
    passkey_name_hint: "So that you recognise it later, for example “Work laptop”.",
    passkey_add_explain:
      "Two-factor authentication is on: enter your password and a code from your authenticator app (or an unused recovery code) to add a passkey.",
    passkey_add_submit: "Create the passkey",
    passkey_created: "Added {when}",
    passkey_last_used: "last used {when}",
    passkey_never_used: "never used",
    passkey_remove: "Remove",
    passkey_remove_label: "Remove the passkey {name}",
    passkey_remove_explain:
      "Enter your password and a code from your authenticator app (or an unused recovery code) to remove the passkey “{name}”.",
    passkey_remove_submit: "Remove the passkey",
    passkey_recovery_explain:
      "Two-factor authentication is now on. Keep these codes somewhere safe: each one lets you log in once without your passkey. They are shown only now.",
    passkey_added: "The passkey “{name}” was added.",
    passkey_removed: "The passkey “{name}” was removed.",
    history_heading: "Security history",
    history_empty: "Nothing has happened yet.",
    history_more: "Show older events",
    err_passkey_cancelled: "No passkey was used: the request was cancelled or timed out.",
    err_passkey_exists: "This device already holds a passkey for your account.",
    err_passkey_insecure:
      "Passkeys need this page under its domain name (for example localhost), not an IP address.",
    err_passkey_unsupported: "This browser or device cannot make this kind of passkey.",
    err_passkey_name: "Give the passkey a name.",
    err_passkey_refused:
      "That passkey was not accepted, or this login attempt has ended: start over if it keeps being refused.",
  },
  nl: {
    two_factor_on_passkeys:
      "Tweestapsverificatie staat aan met passkeys ({count}); je herstelcodes werken ook.",
    or: "of",
    use_passkey: "Een passkey gebruiken",
    security_heading: "Beveiliging",
    sessions_heading: "Waar je bent aangemeld",
    sessions_explain:
      "Elke browser en app die op je account is aangemeld. Beëindig een sessie die je niet herkent en wijzig daarna je wachtwoord.",
    sessions_end_others: "Alle andere sessies beëindigen",
    session_current: "Dit toestel",
    session_last_used: "Laatst actief {when}",
    session_created: "aangemeld {when}",
    session_address: "Adres: {address}",
    session_two_factor: "met een tweede stap",
    session_password_only: "alleen met wachtwoord",
    session_end: "Beëindigen",
    session_end_label: "De sessie op {device} beëindigen",
    session_ended: "De sessie is beëindigd: dat toestel moet zich opnieuw aanmelden.",
    sessions_others_ended: "Alle andere sessies zijn beëindigd.",
    device_unknown: "Onbekend toestel",
    device_on: "{browser} op {os}",
    passkeys_heading: "Passkeys",
    passkeys_explain:
      "Met een passkey bevestig je je aanmelding met de vingerafdruk, het gezicht of de schermvergrendeling van dit toestel in plaats van een code te typen. Je wachtwoord wordt eerst nog gevraagd.",
    passkeys_empty: "Je hebt nog geen passkeys.",
    passkeys_unsupported:
      "Deze browser kan op deze pagina geen passkeys gebruiken (daarvoor zijn een beveiligde verbinding en een domeinnaam nodig).",
    passkey_add: "Een passkey toevoegen",
    passkey_name: "Naam van de passkey",
    passkey_name_hint: "Zodat je hem later herkent, bijvoorbeeld “Laptop van het werk”.",
    passkey_add_explain:
      "Tweestapsverificatie staat aan: geef je wachtwoord en een code uit je authenticator-app (of een ongebruikte herstelcode) in om een passkey toe te voegen.",
    passkey_add_submit: "Passkey aanmaken",
    passkey_created: "Toegevoegd {when}",
    passkey_last_used: "laatst gebruikt {when}",
    passkey_never_used: "nooit gebruikt",
    passkey_remove: "Verwijderen",
    passkey_remove_label: "De passkey {name} verwijderen",
    passkey_remove_explain:
      "Geef je wachtwoord en een code uit je authenticator-app (of een ongebruikte herstelcode) in om de passkey “{name}” te verwijderen.",
    passkey_remove_submit: "Passkey verwijderen",
    passkey_recovery_explain:
      "Tweestapsverificatie staat nu aan. Bewaar deze codes op een veilige plek: met elke code kun je je één keer aanmelden zonder je passkey. Ze worden alleen nu getoond.",
    passkey_added: "De passkey “{name}” is toegevoegd.",
    passkey_removed: "De passkey “{name}” is verwijderd.",
    history_heading: "Beveiligingsgeschiedenis",
    history_empty: "Er is nog niets gebeurd.",
    history_more: "Oudere gebeurtenissen tonen",
    err_passkey_cancelled: "Er werd geen passkey gebruikt: de vraag werd geannuleerd of verliep.",
    err_passkey_exists: "Dit toestel heeft al een passkey voor je account.",
    err_passkey_insecure:
      "Passkeys werken alleen als deze pagina onder haar domeinnaam is geopend (bijvoorbeeld localhost), niet onder een IP-adres.",
    err_passkey_unsupported: "Deze browser of dit toestel kan zo’n passkey niet aanmaken.",
    err_passkey_name: "Geef de passkey een naam.",
    err_passkey_refused:
      "Die passkey werd niet aanvaard, of deze aanmeldpoging is afgelopen: begin opnieuw als hij geweigerd blijft.",
  },
  fr: {
    two_factor_on_passkeys:
      "L’authentification à deux facteurs est activée avec des clés d’accès ({count}) ; vos codes de récupération fonctionnent aussi.",
    or: "ou",
    use_passkey: "Utiliser une clé d’accès",
    security_heading: "Sécurité",
    sessions_heading: "Où vous êtes connecté",
    sessions_explain:
      "Chaque navigateur et application connectés à votre compte. Mettez fin à une session que vous ne reconnaissez pas, puis changez votre mot de passe.",
    sessions_end_others: "Mettre fin à toutes les autres sessions",
    session_current: "Cet appareil",
    session_last_used: "Dernière activité {when}",
    session_created: "connexion {when}",
    session_address: "Adresse : {address}",
    session_two_factor: "avec un second facteur",
    session_password_only: "mot de passe seul",
    session_end: "Terminer",
    session_end_label: "Terminer la session sur {device}",
    session_ended: "La session a pris fin : cet appareil devra se reconnecter.",
    sessions_others_ended: "Toutes les autres sessions ont pris fin.",
    device_unknown: "Appareil inconnu",
    device_on: "{browser} sur {os}",
    passkeys_heading: "Clés d’accès",
    passkeys_explain:
      "Avec une clé d’accès, vous confirmez votre connexion avec l’empreinte digitale, le visage ou le verrouillage d’écran de cet appareil au lieu de saisir un code. Votre mot de passe reste demandé d’abord.",
    passkeys_empty: "Vous n’avez pas encore de clé d’accès.",
    passkeys_unsupported:
      "Ce navigateur ne peut pas utiliser de clés d’accès sur cette page (il faut une connexion sécurisée et un nom de domaine).",
    passkey_add: "Ajouter une clé d’accès",
    passkey_name: "Nom de la clé d’accès",
    passkey_name_hint: "Pour la reconnaître plus tard, par exemple « Portable du bureau ».",
    passkey_add_explain:
      "L’authentification à deux facteurs est activée : saisissez votre mot de passe et un code de votre application (ou un code de récupération inutilisé) pour ajouter une clé d’accès.",
    passkey_add_submit: "Créer la clé d’accès",
    passkey_created: "Ajoutée {when}",
    passkey_last_used: "dernière utilisation {when}",
    passkey_never_used: "jamais utilisée",
    passkey_remove: "Supprimer",
    passkey_remove_label: "Supprimer la clé d’accès {name}",
    passkey_remove_explain:
      "Saisissez votre mot de passe et un code de votre application (ou un code de récupération inutilisé) pour supprimer la clé d’accès « {name} ».",
    passkey_remove_submit: "Supprimer la clé d’accès",
    passkey_recovery_explain:
      "L’authentification à deux facteurs est maintenant activée. Conservez ces codes en lieu sûr : chacun permet de vous connecter une fois sans votre clé d’accès. Ils ne sont affichés qu’une seule fois.",
    passkey_added: "La clé d’accès « {name} » a été ajoutée.",
    passkey_removed: "La clé d’accès « {name} » a été supprimée.",
    history_heading: "Historique de sécurité",
    history_empty: "Rien ne s’est encore passé.",
    history_more: "Afficher les événements plus anciens",
    err_passkey_cancelled:
      "Aucune clé d’accès n’a été utilisée : la demande a été annulée ou a expiré.",
    err_passkey_exists: "Cet appareil contient déjà une clé d’accès pour votre compte.",
    err_passkey_insecure:
      "Les clés d’accès exigent que cette page soit ouverte sous son nom de domaine (par exemple localhost), pas sous une adresse IP.",
    err_passkey_unsupported: "Ce navigateur ou cet appareil ne peut pas créer ce type de clé d’accès.",
    err_passkey_name: "Donnez un nom à la clé d’accès.",
    err_passkey_refused:
      "Cette clé d’accès n’a pas été acceptée, ou cette tentative de connexion a pris fin : recommencez si elle reste refusée.",
  },
  de: {
    two_factor_on_passkeys:
      "Die Zwei-Faktor-Authentifizierung ist mit Passkeys ({count}) an; Ihre Wiederherstellungscodes funktionieren auch.",
    or: "oder",
    use_passkey: "Einen Passkey verwenden",
    security_heading: "Sicherheit",
    sessions_heading: "Wo Sie angemeldet sind",
    sessions_explain:
      "Alle Browser und Apps, die bei Ihrem Konto angemeldet sind. Beenden Sie eine Sitzung, die Sie nicht kennen, und ändern Sie danach Ihr Passwort.",
    sessions_end_others: "Alle anderen Sitzungen beenden",
    session_current: "Dieses Gerät",
    session_last_used: "Zuletzt aktiv {when}",
    session_created: "angemeldet {when}",
    session_address: "Adresse: {address}",
    session_two_factor: "mit zweitem Faktor",
    session_password_only: "nur Passwort",
    session_end: "Beenden",
    session_end_label: "Die Sitzung auf {device} beenden",
    session_ended: "Die Sitzung wurde beendet: Dieses Gerät muss sich neu anmelden.",
    sessions_others_ended: "Alle anderen Sitzungen wurden beendet.",
    device_unknown: "Unbekanntes Gerät",
    device_on: "{browser} auf {os}",
    passkeys_heading: "Passkeys",
    passkeys_explain:
      "Mit einem Passkey bestätigen Sie Ihre Anmeldung mit dem Fingerabdruck, dem Gesicht oder der Bildschirmsperre dieses Geräts, statt einen Code einzugeben. Ihr Passwort wird weiterhin zuerst abgefragt.",
    passkeys_empty: "Sie haben noch keine Passkeys.",
    passkeys_unsupported:
      "Dieser Browser kann auf dieser Seite keine Passkeys verwenden (dafür sind eine sichere Verbindung und ein Domainname nötig).",
    passkey_add: "Passkey hinzufügen",
    passkey_name: "Name des Passkeys",
    passkey_name_hint: "Damit Sie ihn später wiedererkennen, zum Beispiel „Laptop im Büro“.",
    passkey_add_explain:
      "Die Zwei-Faktor-Authentifizierung ist aktiv: Geben Sie Ihr Passwort und einen Code aus Ihrer App (oder einen unbenutzten Wiederherstellungscode) ein, um einen Passkey hinzuzufügen.",
    passkey_add_submit: "Passkey erstellen",
    passkey_created: "Hinzugefügt {when}",
    passkey_last_used: "zuletzt verwendet {when}",
    passkey_never_used: "nie verwendet",
    passkey_remove: "Entfernen",
    passkey_remove_label: "Den Passkey {name} entfernen",
    passkey_remove_explain:
      "Geben Sie Ihr Passwort und einen Code aus Ihrer App (oder einen unbenutzten Wiederherstellungscode) ein, um den Passkey „{name}“ zu entfernen.",
    passkey_remove_submit: "Passkey entfernen",
    passkey_recovery_explain:
      "Die Zwei-Faktor-Authentifizierung ist jetzt an. Bewahren Sie diese Codes sicher auf: Mit jedem können Sie sich einmal ohne Ihren Passkey anmelden. Sie werden nur jetzt angezeigt.",
    passkey_added: "Der Passkey „{name}“ wurde hinzugefügt.",
    passkey_removed: "Der Passkey „{name}“ wurde entfernt.",
    history_heading: "Sicherheitsverlauf",
    history_empty: "Bisher ist nichts geschehen.",
    history_more: "Ältere Ereignisse anzeigen",
    err_passkey_cancelled:
      "Es wurde kein Passkey verwendet: Die Anfrage wurde abgebrochen oder ist abgelaufen.",
    err_passkey_exists: "Dieses Gerät enthält bereits einen Passkey für Ihr Konto.",
    err_passkey_insecure:
      "Passkeys funktionieren nur, wenn diese Seite unter ihrem Domainnamen geöffnet ist (zum Beispiel localhost), nicht unter einer IP-Adresse.",
    err_passkey_unsupported: "Dieser Browser oder dieses Gerät kann diese Art von Passkey nicht erstellen.",
    err_passkey_name: "Geben Sie dem Passkey einen Namen.",
    err_passkey_refused:
      "Dieser Passkey wurde nicht akzeptiert, oder dieser Anmeldeversuch ist beendet: Beginnen Sie neu, wenn er weiter abgelehnt wird.",
  },
};

for (const lang of LANGUAGES) Object.assign(STRINGS[lang], SECURITY_STRINGS[lang]);
