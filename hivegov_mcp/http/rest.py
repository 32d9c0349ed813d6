"""The REST API (DESIGN §12), derived from the catalogue: one route per operation that declares
one (verb, path, success status), its arguments taken from the path, from the query of a GET and
from the JSON body of anything else, its result model as the response. The acting agent comes
from the request's bearer token; errors are one JSON envelope (`envelope.py`)."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, create_model
from pydantic.fields import FieldInfo

from hivegov_mcp.catalogue import CATALOGUE, Operation, Route
from hivegov_mcp.catalogue.base import parameter_default
from hivegov_mcp.domain.errors import NotAuthenticated
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.http.envelope import ERROR_RESPONSES
from hivegov_mcp.service import GovernanceService

PREFIX = "/api/governance"

bearer = HTTPBearer(auto_error=False, description="An agent token, as printed by `hivegov-mcp agent add`.")


def service_of(request: Request) -> GovernanceService:
    service: GovernanceService = request.app.state.service
    return service


Service = Annotated[GovernanceService, Depends(service_of)]


async def acting_agent(
    service: Service, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Agent:
    if credentials is None:
        raise NotAuthenticated(
            "no agent token was given",
            "Send `Authorization: Bearer <token>`; an operator prints one with `hivegov-mcp agent add ID --role …`.",
        )
    return await service.authenticate(credentials.credentials)


Me = Annotated[Agent, Depends(acting_agent)]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt optional field is refused, not dropped


def _constraints(info: FieldInfo) -> dict[str, Any]:
    """A field's numeric and length bounds, as keyword arguments of Path() or Query()."""
    found: dict[str, Any] = {}
    for item in info.metadata:
        for bound in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            if getattr(item, bound, None) is not None:
                found[bound] = getattr(item, bound)
    return found


def _body_model(op: Operation, names: list[str]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (op.arguments.model_fields[name].annotation, op.arguments.model_fields[name]) for name in names
    }
    title = "".join(part.capitalize() for part in op.name.split("_"))
    model: type[BaseModel] = create_model(f"{title}Body", __base__=RequestBody, **fields)
    return model


def endpoint(op: Operation, route: Route) -> Any:
    """An endpoint whose signature FastAPI reads: path arguments, query arguments (GET) or one body
    (optional when every field in it is), the service and the acting agent."""
    fields = op.arguments.model_fields
    in_path = route.path_arguments
    rest = [name for name in fields if name not in in_path]
    params: list[inspect.Parameter] = []

    def param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> None:
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default))

    for name in in_path:
        info = fields[name]
        param(name, Annotated[info.annotation, Path(description=info.description, **_constraints(info))])
    body_names: list[str] = []
    if route.verb == "GET":
        for name in rest:
            info = fields[name]
            query = Query(description=info.description, alias=route.names.get(name), **_constraints(info))
            default = parameter_default(info)
            param(name, Annotated[info.annotation, query], default)
    elif rest:
        body_names = rest
        model = _body_model(op, rest)
        if any(fields[name].is_required() for name in rest):
            param("body", Annotated[model, Body()])
        else:
            param("body", Annotated[model | None, Body()], None)
    param("service", Service)
    param("me", Me)

    async def run(**given: Any) -> Any:
        service, me, body = given.pop("service"), given.pop("me"), given.pop("body", None)
        arguments = {name: given[name] for name in fields if name in given}
        if body is not None:
            arguments |= {name: getattr(body, name) for name in body_names}
        return await op.invoke(service, me, arguments)

    run.__name__ = run.__qualname__ = op.name
    run.__signature__ = inspect.Signature(params, return_annotation=op.result)  # type: ignore[attr-defined]
    return run


router = APIRouter(prefix=PREFIX, responses=ERROR_RESPONSES)
for _op in CATALOGUE.values():
    if _op.rest is not None:
        router.add_api_route(
            _op.rest.path,
            endpoint(_op, _op.rest),
            methods=[_op.rest.verb],
            status_code=_op.rest.status,
            response_model=_op.result,
            summary=_op.rest.summary,
            description=_op.full_description,
            tags=[_op.rest.tag],
            name=_op.name,
        )
