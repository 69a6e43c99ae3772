"""The types of the factory fixtures, to annotate the tests that take them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date

import httpx
from typer.testing import Result

from bastion.accounts.models import User
from bastion.packaging.models import Project, Release

MakeUser = Callable[..., Awaitable[User]]
MakeProject = Callable[..., Awaitable[Project]]
AddRelease = Callable[..., Awaitable[Release]]
CliRun = Callable[..., Awaitable[Result]]
AddDownloads = Callable[[Mapping[tuple[str, date], int]], Awaitable[None]]
NewClient = Callable[[], httpx.AsyncClient]
PostUpload = Callable[..., Awaitable[httpx.Response]]
