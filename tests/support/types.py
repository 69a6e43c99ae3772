"""The types of the factory fixtures, to annotate the tests that take them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from datetime import date

import httpx
from typer.testing import Result

from bastion.accounts.models import User
from bastion.giveaway.models import GiveawayProgram
from bastion.packaging.models import Project, Release
from tests.e2e.clients import Run
from tests.support.servers import LiveServer

MakeUser = Callable[..., Awaitable[User]]
MakeProject = Callable[..., Awaitable[Project]]
AddRelease = Callable[..., Awaitable[Release]]
CliRun = Callable[..., Awaitable[Result]]
AddDownloads = Callable[[Mapping[tuple[str, date], int]], Awaitable[None]]
NewClient = Callable[[], httpx.AsyncClient]
PostUpload = Callable[..., Awaitable[httpx.Response]]
MakeProgram = Callable[..., Awaitable[GiveawayProgram]]
StartProxy = Callable[..., AbstractContextManager[LiveServer]]
Upload = Callable[..., Run]
NothingStored = Callable[..., Awaitable[None]]
