"""Together's SDK (`together` 3.x, or 2.x with TOGETHER_MAJOR=2): every call of client.beta.jig.secrets.

3.x is given the service's bare URL (it adds /v1 itself); 2.x, as its users do, the URL with /v1.
"""

import os

import together
from together import Together

from observe import Recorder

r = Recorder()
major = int(together.__version__.split(".")[0])
base_url = r.url if major >= 3 else f"{r.url}/v1"
client = Together(api_key=r.api_key, base_url=base_url)
secrets = client.beta.jig.secrets
value, new_value = os.environ["VALUE"], os.environ["NEW_VALUE"]
prefix = f"py{major}"

r.call("version", lambda: together.__version__)
created = r.call("create", lambda: secrets.create(name=f"{prefix}/openai.key", value=value, description="made by the SDK"))
secret_id = created.id if created else "missing"
r.call("retrieve by id", lambda: secrets.retrieve(secret_id))
r.call("retrieve by name", lambda: secrets.retrieve(f"{prefix}/openai.key"))
r.call("list", lambda: secrets.list())
r.call("update by name", lambda: secrets.update(f"{prefix}/openai.key", value=new_value, description="rotated"))
r.call("update to its own name", lambda: secrets.update(secret_id, name=f"{prefix}/openai.key"))
r.call("rename", lambda: secrets.update(secret_id, name=f"{prefix}/openai.renamed"))
other = r.call("create another", lambda: secrets.create(name=f"{prefix}-taken", value=value))
r.call("rename onto a taken name", lambda: secrets.update(secret_id, name=f"{prefix}-taken"))
r.call("create a taken name", lambda: secrets.create(name=f"{prefix}-taken", value=value))
r.call("create with a bad name", lambda: secrets.create(name="not a name", value=value))
if major >= 3:
    r.call("create with ttl_seconds", lambda: secrets.create(name=f"{prefix}-ttl", value=value, ttl_seconds=86_400))
    r.call("update with ttl_seconds", lambda: secrets.update(f"{prefix}-ttl", ttl_seconds=1_209_600))
    r.call("update the value of a secret with a ttl", lambda: secrets.update(f"{prefix}-ttl", value=new_value))
    r.call("create with too short a ttl", lambda: secrets.create(name=f"{prefix}-ttl-short", value=value, ttl_seconds=3_600))
    r.call("update with too long a ttl", lambda: secrets.update(f"{prefix}-ttl", ttl_seconds=1_209_601))
r.call("delete by name", lambda: secrets.delete(f"{prefix}/openai.renamed"))
r.call("retrieve deleted", lambda: secrets.retrieve(secret_id))
r.call("update deleted", lambda: secrets.update(secret_id, value=new_value))
r.call("delete deleted", lambda: secrets.delete(secret_id))
r.call("delete by id", lambda: secrets.delete(other.id if other else "missing"))
stranger = Together(api_key="sk-lw-" + "Q" * 43, base_url=base_url, max_retries=0)
r.call("list with an unknown key", lambda: stranger.beta.jig.secrets.list())
r.done()
