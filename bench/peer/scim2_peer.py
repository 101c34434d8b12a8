"""The peer of `scimbox-bench compare`: scim2-server's own application, as its `scim2-server`
command builds it (the RFC 7643 schemas, the User and Group resource types, in-memory storage and
a static bearer token), exposed as a WSGI callable so that gunicorn can serve it.

    SCIM2_PEER_TOKEN=secret gunicorn --workers 1 --threads 4 --bind 127.0.0.1:PORT scim2_peer:app

The storage lives in the worker process, so there must be exactly one worker.
"""

import os

from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

config = load_default_service_provider_config()
config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
provider = ScimProvider.from_discovery(
    load_default_schemas().values(), load_default_resource_types().values(), config=config
)
app = BearerTokenApplication(InMemoryStorage(), provider, bearer_tokens=[os.environ["SCIM2_PEER_TOKEN"]])
