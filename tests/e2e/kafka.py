"""The mock Kafka cluster of build/test/kafkamock (tests/e2e/kafkamock.c),
driven from the tests: brokers down and up, topics, and a consumer's view of
what was produced."""

import json
import os
import select
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("GLIMPSE_KAFKAMOCK", os.path.join(REPO, "build/test/kafkamock"))


def available():
    """(True, "") when kafkamock is built, else (False, why)."""
    if os.access(BINARY, os.X_OK):
        return True, ""
    return False, f"the mock Kafka cluster is not built ({BINARY} missing; make builds it)"


class KafkaMock:
    def __init__(self, brokers=3):
        self._err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([BINARY, "--brokers", str(brokers)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._err)
        self._buf = b""
        try:
            line = self._line(10)
        except RuntimeError:
            self.close()
            raise
        if not line.startswith("bootstrap "):
            self.close()
            raise RuntimeError(f"kafkamock said {line!r}: {self._stderr_tail()}")
        self.bootstrap = line.split(" ", 1)[1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _stderr_tail(self):
        self._err.seek(0)
        return self._err.read().decode("utf-8", "replace")[-800:]

    def _line(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                raise RuntimeError(f"kafkamock did not answer in {timeout} s: "
                                   f"{self._stderr_tail()}")
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not chunk:
                raise RuntimeError(f"kafkamock exited: {self._stderr_tail()}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def _send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def cmd(self, line, timeout=15):
        """Runs one command; the text after "ok" (RuntimeError on "error")."""
        self._send(line)
        answer = self._line(timeout)
        if answer.startswith("error"):
            raise RuntimeError(f"kafkamock {line}: {answer}")
        return answer[2:].strip()

    def down(self, broker):
        self.cmd(f"down {broker}")

    def up(self, broker):
        self.cmd(f"up {broker}")

    def rtt(self, broker, ms):
        self.cmd(f"rtt {broker} {ms}")

    def create(self, topic, partitions):
        self.cmd(f"create {topic} {partitions}")

    def topic_error(self, topic, code):
        self.cmd(f"topic-error {topic} {code}")

    def count(self, topic):
        return int(self.cmd(f"count {topic}"))

    def consume(self, topic, timeout_ms=10000):
        """Every message of topic: dicts with partition, offset, key, value,
        headers. A topic that does not exist yet has none."""
        self._send(f"consume {topic} {timeout_ms}")
        messages = []
        while True:
            line = self._line(timeout_ms / 1000 + 15)
            if line.startswith("{"):
                messages.append(json.loads(line))
                continue
            if line.startswith("ok"):
                return messages
            if "Unknown topic" in line or "not found" in line:
                return []
            raise RuntimeError(f"kafkamock consume {topic}: {line}")

    def close(self):
        if self.proc.poll() is None:
            try:
                self._send("quit")
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            if f:
                f.close()
        self._err.close()
