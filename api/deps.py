"""Dependencies of the routes, defined once as ``Annotated`` aliases (``ServiceDep``, ``CallerDep``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import Caller
from api.service import Service
from api.settings import Settings

__all__ = ["CallerDep", "ServiceDep", "SettingsDep", "get_caller", "get_service", "get_settings"]

_bearer = HTTPBearer(auto_error=False, description="An API key from ADVISOR_API_KEYS: 'Authorization: Bearer KEY'.")


def get_service(request: Request) -> Service:
    return request.app.state.service


def get_settings(request: Request) -> Settings:
    return request.app.state.service.settings


def get_caller(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> Caller:
    """The authenticated caller (401 ``unauthorized`` without a valid key, unless the service is open)."""
    service: Service = request.app.state.service
    return service.keys.authenticate(request.headers.get("authorization"))


ServiceDep = Annotated[Service, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CallerDep = Annotated[Caller, Depends(get_caller)]
