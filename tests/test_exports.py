"""The public surface: what each public module exports, and nothing less."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import y2w_middleware

#: The names DESIGN.md fixes for ``y2w_middleware`` itself.
DESIGNED = {
    "AnonymousUser",
    "AsyncGatewayClient",
    "GatewayClient",
    "Identity",
    "Settings",
    "User",
    "Y2WMiddleware",
    "Y2WWSGIMiddleware",
    "get_pending_identity",
    "get_user",
    "login_required",
}

PUBLIC_MODULES = [
    pytest.param("y2w_middleware", id="package"),
    pytest.param("y2w_middleware.errors", id="errors"),
    pytest.param("y2w_middleware.flask", id="flask"),
    pytest.param("y2w_middleware.fastapi", id="fastapi"),
    pytest.param("y2w_middleware.testing", id="testing"),
]


def _modules() -> list[str]:
    names = [y2w_middleware.__name__]
    for info in pkgutil.walk_packages(
        y2w_middleware.__path__, y2w_middleware.__name__ + "."
    ):
        # __main__ runs the command when imported; it exports nothing.
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def test_package_exports_every_designed_name() -> None:
    """Every name DESIGN.md lists is importable from the package."""
    assert set(y2w_middleware.__all__) >= DESIGNED


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_is_sorted_and_complete(module_name: str) -> None:
    """A public module's __all__ is sorted and names only what exists."""
    module = importlib.import_module(module_name)

    exported = list(module.__all__)

    assert exported == sorted(exported)
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize("module_name", _modules())
def test_every_module_declares_all_and_a_docstring(module_name: str) -> None:
    """Each module says what it is for and what it exports."""
    module = importlib.import_module(module_name)

    assert (module.__doc__ or "").strip()
    assert isinstance(getattr(module, "__all__", None), list | tuple)


def test_errors_module_exports_the_whole_tree() -> None:
    """Every exception class in errors is exported and descends from Y2WError."""
    from y2w_middleware import errors

    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, Exception)
    }

    assert classes <= set(errors.__all__)
    assert all(issubclass(getattr(errors, name), errors.Y2WError) for name in classes)
