"""TLS and mutual TLS with certificates made by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_registry_client import RegistryClient, TlsOptions, Unavailable
from tests.certificates import Authority
from tests.conftest import StartServer


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, object]:
    authority, rogue = Authority(tmp_path, "test-ca"), Authority(tmp_path, "rogue-ca")
    return {
        "ca": authority.issued.cert,
        "server": authority.issue("server", server=True),
        "client": authority.issue("jarvis", server=False),
        "rogue_client": rogue.issue("mallory", server=False),
        "rogue_ca": rogue.issued.cert,
    }


async def names(target: str, tls: TlsOptions | None) -> set[str]:
    async with RegistryClient(target, tls=tls, timeout=5) as client:
        return {agent.name for agent in (await client.list_agents()).agents}


async def test_tls_serves_trusting_clients_only(start: StartServer, pki: dict) -> None:
    server = await start(tls_cert_file=pki["server"].cert, tls_key_file=pki["server"].key)
    target = f"127.0.0.1:{server.port}"
    assert "tickets_agent" in await names(target, TlsOptions.from_files(ca=pki["ca"]))
    assert "tickets_agent" in await names(f"localhost:{server.port}", TlsOptions.from_files(ca=pki["ca"]))
    with pytest.raises(Unavailable):
        await names(target, None)  # plaintext to a TLS port
    with pytest.raises(Unavailable):
        await names(target, TlsOptions.from_files(ca=pki["rogue_ca"]))  # does not trust the server's CA


async def test_mutual_tls_requires_a_client_certificate_from_the_ca(start: StartServer, pki: dict) -> None:
    server = await start(
        tls_cert_file=pki["server"].cert, tls_key_file=pki["server"].key, tls_client_ca_file=pki["ca"]
    )
    target = f"127.0.0.1:{server.port}"
    good = TlsOptions.from_files(ca=pki["ca"], cert=pki["client"].cert, key=pki["client"].key)
    assert "tickets_agent" in await names(target, good)
    with pytest.raises(Unavailable):
        await names(target, TlsOptions.from_files(ca=pki["ca"]))  # no client certificate
    rogue = TlsOptions.from_files(ca=pki["ca"], cert=pki["rogue_client"].cert, key=pki["rogue_client"].key)
    with pytest.raises(Unavailable):
        await names(target, rogue)


def test_tls_flags_go_together() -> None:
    from registry_server.config import parse_config

    for argv in (["--tls-cert", "c.pem"], ["--tls-key", "k.pem"], ["--tls-client-ca", "ca.pem"]):
        with pytest.raises(SystemExit):
            parse_config(argv, {})
    config = parse_config(["--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-client-ca", "ca.pem"], {})
    assert (str(config.tls_cert_file), str(config.tls_client_ca_file)) == ("c.pem", "ca.pem")


async def test_health_probe_speaks_mutual_tls(start: StartServer, pki: dict) -> None:
    import asyncio

    from registry_server.healthcheck import check

    server = await start(
        tls_cert_file=pki["server"].cert, tls_key_file=pki["server"].key, tls_client_ca_file=pki["ca"]
    )
    target = f"127.0.0.1:{server.port}"
    tls = (pki["ca"], pki["client"].cert, pki["client"].key)
    assert await asyncio.to_thread(check, target, "", 3.0, tls)
    assert not await asyncio.to_thread(check, target, "", 3.0, (pki["ca"], None, None))
