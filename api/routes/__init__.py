"""The API's routes, one module per resource: thin HTTP over :class:`api.service.Service`."""

from api.routes import health, jobs, recommend

__all__ = ["health", "jobs", "recommend"]
