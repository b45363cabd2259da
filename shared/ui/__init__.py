"""The design system of every page (Det Fælles Designsystem from npm, Jinja2 layout and macros,
Babel translations): `Pages(service, templates_dir)` in a ServiceSpec mounts the assets and
renders the service's pages through the shared layout. See docs/console.md."""

from shared.ui.i18n import LOCALES, N_, NP_, Formats, label
from shared.ui.pages import SERVICE_PREFIXES, Pages, service_url

__all__ = ["Pages", "SERVICE_PREFIXES", "service_url", "LOCALES", "N_", "NP_", "Formats", "label"]
