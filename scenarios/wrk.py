"""Driving Debian's ``wrk`` (12 to 21 us of CPU per request here, against 265 us for an
aiohttp client): HTTP throughput figures whose limit is the server, not the driver.

Requests are made by a Lua script that draws each request from a list of prepared
request lines (path and headers), so one run mixes users and query shapes as k6 does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = """
local requests = {%s}
local count = #requests
math.randomseed(os.time())
request = function()
  local r = requests[math.random(count)]
  return wrk.format("GET", r[1], r[2])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%.1f %%.1f %%.1f %%.1f\\n",
    summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


@dataclass(frozen=True)
class WrkResult:
    label: str
    connections: int
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def row(self) -> str:
        return (
            f"{self.label:<34} {self.connections:>5} {self.rate:>10.0f} {self.p50_ms:>8.1f} "
            f"{self.p95_ms:>8.1f} {self.p99_ms:>8.1f} {self.errors:>6}"
        )


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk (Debian's package)")
    return found


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lua_request(path: str, headers: dict[str, str]) -> str:
    pairs = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
    return f"{{{_lua_string(path)}, {{{pairs}}}}}"


def run_wrk(
    label: str,
    base_url: str,
    requests: list[tuple[str, dict[str, str]]],
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
) -> WrkResult:
    """``connections`` keep-alive connections for ``seconds``, each request drawn at
    random from ``requests`` (path with query, headers)."""
    body = _SCRIPT % ", ".join(_lua_request(path, headers) for path, headers in requests)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(body)
    try:
        out = subprocess.run(
            [
                wrk_binary(),
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                base_url,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        Path(script.name).unlink()
    found = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    if found is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    total, micros, errors = (int(found.group(i)) for i in (1, 2, 3))
    p50, p95, p99, worst = (float(found.group(i)) for i in (4, 5, 6, 7))
    return WrkResult(label, connections, total, micros / 1e6, errors, p50, p95, p99, worst)
