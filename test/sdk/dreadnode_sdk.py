"""Dreadnode's SDK (dreadnode.app.api.client.ApiClient): every user-secrets call it has."""

import os

from dreadnode.app.api.client import ApiClient

from observe import Recorder

r = Recorder()
client = ApiClient(r.url, api_key=r.api_key)
value, new_value, preset_value = os.environ["VALUE"], os.environ["NEW_VALUE"], os.environ["PRESET_VALUE"]

created = r.call("create_secret", lambda: client.create_secret("DN_SDK_TOKEN", value))
secret_id = created.id if created else "missing"
r.call("get_secret", lambda: client.get_secret(secret_id))
r.call("update_secret", lambda: client.update_secret(secret_id, new_value))
r.call("list_secrets", lambda: client.list_secrets())
r.call("get_secret_presets", lambda: client.get_secret_presets())
r.call("create_secret_from_preset", lambda: client.create_secret_from_preset("anthropic", preset_value))
r.call("get_secret_presets again", lambda: client.get_secret_presets())
r.call("create_secret_from_preset taken", lambda: client.create_secret_from_preset("anthropic", preset_value))
r.call("create_secret_from_preset unknown", lambda: client.create_secret_from_preset("no-such-provider", preset_value))
r.call("create_secret taken", lambda: client.create_secret("DN_SDK_TOKEN", value))
r.call("create_secret bad name", lambda: client.create_secret("not a name", value))
r.call("delete_secret", lambda: client.delete_secret(secret_id))
r.call("get_secret deleted", lambda: client.get_secret(secret_id))
r.call("update_secret deleted", lambda: client.update_secret(secret_id, new_value))
r.call("delete_secret deleted", lambda: client.delete_secret(secret_id))
stranger = ApiClient(r.url, api_key="sk-lw-" + "Q" * 43)
r.call("list_secrets with an unknown key", lambda: stranger.list_secrets())
r.done()
