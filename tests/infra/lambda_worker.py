"""One deployed function, run the way Lambda runs it: its handler (``app.record_interactions``) imported
from the deployment zip in a fresh interpreter, called once per request with a Lambda-like context.

    python -S lambda_worker.py HANDLER FUNCTION_NAME TIMEOUT_SECONDS MEMORY_MB

Reads one JSON request per line on stdin (``{"event": ...}``) and answers one JSON line on the original
stdout (``{"result": ...}`` or ``{"error": ...}``); what the function prints (its logs) goes to stderr.
Standard library only: the function's own imports come from the zip.
"""

import importlib
import json
import os
import sys
import time
import traceback
import uuid

answers = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)  # the function's stdout (Powertools logs, EMF metrics) goes to stderr


class Context:
    def __init__(self, function_name: str, timeout_seconds: int, memory_mb: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "worker"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> None:
    handler_path, function_name, timeout, memory = sys.argv[1:5]
    module, attribute = handler_path.rsplit(".", 1)
    handler = getattr(importlib.import_module(module), attribute)
    answers.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = handler(request["event"], Context(function_name, int(timeout), int(memory)))
            answers.write(json.dumps({"result": result}, default=str) + "\n")
        except Exception as exc:  # the caller treats it as a failed invocation, like Lambda
            answers.write(
                json.dumps({"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}) + "\n"
            )


if __name__ == "__main__":
    main()
