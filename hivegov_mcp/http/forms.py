"""What a dashboard form posts, read as the raw arguments of the operation it runs (checked after by
the operation's argument model, as every door does).

A form's fields are named after the operation's arguments, three shapes:

    one value     name=value                 an optional one left empty is an argument left out
    a list        name=a, name=b, ...        every value posted under the name, in page order,
                                             empty ones dropped (a "—" choice, or the hidden empty
                                             field that says "this list was in the form": none
                                             ticked is an empty list, not a missing argument)
    a mapping     name[key]=value, ...       one field per key; an empty one leaves its key out

So the approval form is one checkbox per option (`approvals`), the ranking form one select per
rank (`ranking`, a "—" rank skipped), the score form one select per option (`scores[2]`). A form
posts text: a list's or a mapping's value written as a whole number is that number (the operation
takes whole numbers strictly, as given, from every other door).
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin

from pydantic.fields import FieldInfo
from starlette.datastructures import FormData


def _shape(annotation: Any) -> type | None:
    """list or dict when the argument (optional or not) is one, else None."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        shapes = {_shape(arg) for arg in get_args(annotation) if arg is not type(None)}
        return shapes.pop() if len(shapes) == 1 else None
    return origin if origin in (list, dict) else None


def form_arguments(form: FormData, fields: Mapping[str, FieldInfo]) -> dict[str, Any]:
    """The arguments named in `fields` that the form posted, each in its shape."""
    given: dict[str, Any] = {}
    for name, info in fields.items():
        shape = _shape(info.annotation)
        if shape is list:
            values = form.getlist(name)
            if values:
                given[name] = [_number(v) for v in values if v != ""]
        elif shape is dict:
            keyed = [(key[len(name) + 1 : -1], v) for key, v in form.multi_items() if _keyed(key, name)]
            if keyed:
                given[name] = {key: _number(v) for key, v in keyed if v != ""}
        elif name in form and (form[name] or info.is_required()):
            given[name] = form[name]
    return given


def _keyed(field: str, name: str) -> bool:
    return field.startswith(f"{name}[") and field.endswith("]") and len(field) > len(name) + 2


def _number(value: str | Any) -> Any:
    return int(value) if isinstance(value, str) and _WHOLE.fullmatch(value) else value


_WHOLE = re.compile(r"-?[0-9]{1,9}")
