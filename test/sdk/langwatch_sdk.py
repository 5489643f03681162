"""LangWatch's SDK (langwatch 1.4.0): every call of langwatch.secrets."""

import os

import langwatch

from observe import Recorder

r = Recorder()
langwatch.setup(api_key=r.api_key, endpoint_url=r.url)
secrets = langwatch.secrets
value, new_value = os.environ["VALUE"], os.environ["NEW_VALUE"]

r.call("version", lambda: langwatch.__version__)
created = r.call("create", lambda: secrets.create(name="LW_SDK_KEY", value=value))
secret_id = created["id"] if created else "missing"
r.call("get", lambda: secrets.get(secret_id))
r.call("update", lambda: secrets.update(secret_id, value=new_value))
r.call("list", lambda: secrets.list())
r.call("set a new name", lambda: secrets.set("LW_SDK_SET", value))
r.call("set an existing name", lambda: secrets.set("LW_SDK_SET", new_value))
r.call("create a taken name", lambda: secrets.create(name="LW_SDK_KEY", value=value))
r.call("create with a bad name", lambda: secrets.create(name="not a name", value=value))
r.call("delete", lambda: secrets.delete(secret_id))
r.call("get deleted", lambda: secrets.get(secret_id))
r.call("update deleted", lambda: secrets.update(secret_id, value=new_value))
r.call("delete deleted", lambda: secrets.delete(secret_id))
r.call("list after", lambda: secrets.list())
r.done()
