"""`GET /metrics`: Prometheus text of the process's default registry, for both services."""

from __future__ import annotations

from litestar import MediaType, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest


@get(
    "/metrics",
    media_type=MediaType.TEXT,
    tags=["operations"],
    summary="Prometheus metrics",
    description="Counters, gauges and histograms of this service in the Prometheus text format.",
    include_in_schema=True,
)
async def metrics_endpoint() -> Response[bytes]:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
