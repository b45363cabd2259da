"""Kafka delivery: transactional outbox + relay, idempotent consumers with an inbox and a
dead-letter topic. See docs/architecture.md for how one event flows end to end."""
