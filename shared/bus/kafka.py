"""aiokafka clients with the safe settings stated explicitly, and topic creation.

Every client takes the same security options (`kafka_security(settings)`): the protocol, SASL
(SCRAM-SHA-512 on Strimzi) and the TLS context. Without them a client speaks PLAINTEXT.
"""

from __future__ import annotations

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from shared.events.contracts import CATALOGUE

log = structlog.get_logger()


def dlq_topic(service: str) -> str:
    return f"{service}.dlq.v1"


def all_topics(services: list[str] | None = None) -> list[str]:
    topics = [s.topic for s in CATALOGUE]
    services = services or sorted({s.source for s in CATALOGUE})
    return topics + [dlq_topic(s) for s in services]


def kafka_security(settings) -> dict:
    """The security keyword arguments of every aiokafka client, from Settings. Checked here, when a
    client is made, not in Settings: the api role and migrations share the configuration but have no
    Kafka login (deploy/k8s: only consumer and relay pods get one)."""
    s = settings
    protocol = s.kafka_security_protocol
    if protocol.startswith("SASL_") and not (s.kafka_sasl_username and s.kafka_sasl_password):
        raise ValueError("BORGERTING_KAFKA_SECURITY_PROTOCOL SASL_* needs BORGERTING_KAFKA_SASL_USERNAME and "
                         "BORGERTING_KAFKA_SASL_PASSWORD")
    opts: dict = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        ctx = create_ssl_context(cafile=s.kafka_ssl_cafile or None, certfile=s.kafka_ssl_certfile or None,
                                 keyfile=s.kafka_ssl_keyfile or None)
        ctx.check_hostname = s.kafka_ssl_check_hostname
        opts["ssl_context"] = ctx
    if protocol.startswith("SASL_"):
        opts.update(sasl_mechanism=s.kafka_sasl_mechanism, sasl_plain_username=s.kafka_sasl_username,
                    sasl_plain_password=s.kafka_sasl_password)
    return opts


def make_producer(bootstrap: str, client_id: str, **options) -> AIOKafkaProducer:
    """`options`: the security options (kafka_security) and any setting to override."""
    settings = dict(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",  # the write is durable on every in-sync replica before we mark it sent
        # Idempotence needs broker support the embedded broker lacks; duplicates from retries are
        # absorbed by the consumers' inbox, which is the guarantee we rely on anyway.
        enable_idempotence=False,
        linger_ms=5,
        request_timeout_ms=30000,
        retry_backoff_ms=200,
        compression_type=None,
    )
    return AIOKafkaProducer(**{**settings, **options})


def make_consumer(bootstrap: str, group_id: str, topics: list[str], session_timeout_ms: int,
                  **security) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        **security,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        client_id=group_id,
        enable_auto_commit=False,  # offsets are committed only after the effect is in the database
        auto_offset_reset="earliest",  # a new consumer group reads the whole history
        isolation_level="read_uncommitted",  # Kafka transactions are not used
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=max(1000, session_timeout_ms // 3),
        max_poll_records=500,
        metadata_max_age_ms=30000,
    )


def make_reader(bootstrap: str, client_id: str, **security) -> AIOKafkaConsumer:
    """A consumer without a group (partitions assigned by hand, no offsets committed): a replay
    of whole topics, e.g. the rebuild of a read model from offset 0."""
    return AIOKafkaConsumer(
        **security,
        bootstrap_servers=bootstrap,
        group_id=None,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_uncommitted",
        max_poll_records=500,
        metadata_max_age_ms=30000,
    )


async def ensure_topics(bootstrap: str, topics: list[str], partitions: int = 1, replication: int = 1,
                        **security) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="borgerting-admin", **security)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(name=t, num_partitions=partitions, replication_factor=replication) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass
            log.info("topics created", count=len(missing))
    finally:
        await admin.close()
