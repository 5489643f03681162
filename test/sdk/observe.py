"""What an official SDK call returned or raised, as JSON, for the TypeScript tests to check.

Each driver in this folder makes every secrets call its SDK has, unchanged, against the
service at SECRETS_URL with the key SECRETS_API_KEY, and prints one JSON array of steps:
{"call", "ok": true, "result"} or {"call", "ok": false, "error", "module", "message", "status"}.
"""

import json
import os
import sys
from typing import Any, Callable


def jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=False)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class Recorder:
    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.url = os.environ["SECRETS_URL"]
        self.api_key = os.environ["SECRETS_API_KEY"]

    def call(self, label: str, fn: Callable[[], Any]) -> Any:
        try:
            result = fn()
        except Exception as error:  # the SDK's typed exceptions are what the tests look at
            self.steps.append({
                "call": label,
                "ok": False,
                "error": type(error).__name__,
                "module": type(error).__module__,
                "message": str(error),
                "status": getattr(error, "status_code", None),
            })
            return None
        self.steps.append({"call": label, "ok": True, "result": jsonable(result)})
        return result

    def done(self) -> None:
        json.dump(self.steps, sys.stdout)
        sys.stdout.write("\n")
