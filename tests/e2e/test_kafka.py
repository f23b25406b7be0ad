"""End-to-end: the Kafka output, against librdkafka's mock cluster.

The node of tests/e2e/node.py (runc, conmon, the fake kubelet) runs short
Job pods; glimpse writes to its usual output file and, as a second output, to
a 3-broker mock Kafka cluster run by build/test/kafkamock (tests/e2e/kafka.py
drives it). What a consumer reads back from the topics must hold every line
and container event once, keyed by pod UID, each pod's lines in order, with
the headers that name the kind, the file and the offset.

    python3 tests/e2e/test_kafka.py
"""

import collections
import json
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kafka  # noqa: E402
import node  # noqa: E402

TOPIC = "e2e.{kind}"
# quick reconnects once brokers are back, so the tests do not wait on backoff
SETTINGS = {"properties": {"reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 300}}


def need_kafkamock():
    ok, why = kafka.available()
    if not ok:
        raise node.Skip(why)


def start_agent(n, k, extra=()):
    url = f"kafka://{k.bootstrap}/{TOPIC}"
    config = {"outputs": [dict(url=url, name="kafka-e2e", **SETTINGS)]}
    # the file output of start_glimpse stays: --output on the command line
    # replaces the file's list, each taking its file entry's settings
    return n.start_glimpse(extra_args=["--output", url, *extra], config=config)


def job_specs(count, prefix, lines=60, remove_after_ms=100):
    return [dict(namespace="e2e-kafka", name=f"{prefix}-{i}-{secrets.token_hex(3)[:5]}",
                 job_name=f"{prefix}-{i // 4}",
                 containers=[node.ContainerSpec(name="main", lines=lines, stderr_every=7,
                                                exit_code=i % 3)],
                 sandbox=True, remove_after_ms=remove_after_ms)
            for i in range(count)]


def consume_events(k, kinds=("log", "container")):
    """Every message of the topics of kinds: (events, messages)."""
    events, messages = [], []
    for kind in kinds:
        for m in k.consume(TOPIC.replace("{kind}", kind)):
            m["kind_topic"] = kind
            messages.append(m)
            events.append(json.loads(m["value"]))
    return events, messages


def wait_kafka(k, pods, timeout, **check_args):
    deadline = time.monotonic() + timeout
    while True:
        events, messages = consume_events(k)
        check = node.check_pods(pods, events, **check_args)
        if check.complete or time.monotonic() >= deadline:
            return check, events, messages
        time.sleep(0.5)


def check_messages(messages):
    """Keys are pod UIDs, headers name kind, file and offset, and within a
    partition each file's offsets only grow. Returns a list of problems."""
    problems = []
    order = collections.defaultdict(int)
    for m in sorted(messages, key=lambda m: (m["kind_topic"], m["partition"], m["offset"])):
        ev = json.loads(m["value"])
        h = m.get("headers") or {}
        if m["key"] != ev.get("k8s.pod.uid"):
            problems.append(f"key {m['key']!r} is not the pod UID {ev.get('k8s.pod.uid')!r}")
        if h.get("glimpse.kind") != ev.get("kind"):
            problems.append(f"header glimpse.kind {h.get('glimpse.kind')!r} for a "
                            f"{ev.get('kind')} event")
        if ev.get("kind") != "log":
            continue
        if "glimpse.source" not in h or not h.get("glimpse.offset", "").isdigit():
            problems.append(f"log message without glimpse.source/offset headers: {h}")
            continue
        where = (m["kind_topic"], m["partition"], h["glimpse.source"])
        off = int(h["glimpse.offset"])
        if off < order[where]:
            problems.append(f"{h['glimpse.source']}: offset {off} after {order[where]} in "
                            f"partition {m['partition']}")
        order[where] = off
    return problems[:10]


def test_job_pods_to_kafka():
    """Job pods: every line and container event in Kafka once, keyed and in
    order, the same as in the file output."""
    need_kafkamock()
    with kafka.KafkaMock() as k, node.Node() as n:
        g = start_agent(n, k)
        pods = n.run_pods(job_specs(16, "kjob"))
        check = node.wait_for_pods(g, pods, timeout=30, node_name=n.node_name)
        assert check.ok, f"file output:\n{check.report()}\n{g.stderr_tail(10)}"
        kcheck, events, messages = wait_kafka(k, pods, 30, node_name=n.node_name)
        assert kcheck.ok, f"Kafka:\n{kcheck.report()}\n{g.stderr_tail(10)}"
        problems = check_messages(messages)
        assert not problems, "\n".join(problems)
        g.stop()
        stopped = g.find_log(lambda e: e.get("msg") == "stopped")
        outputs = {o["name"]: o for o in (stopped[-1].get("outputs", []) if stopped else [])}
        assert outputs.get("kafka-e2e", {}).get("delivered") == len(messages), \
            f"stopped line: {outputs}, {len(messages)} messages in Kafka"
        g.check_clean_exit()
    return f"{len(messages)} messages, {kcheck.expected_lines} lines"


def test_brokers_down_and_back_lose_nothing():
    """Every broker down while pods run, then back: nothing lost, nothing
    twice (the producer is idempotent)."""
    need_kafkamock()
    with kafka.KafkaMock() as k, node.Node() as n:
        g = start_agent(n, k)
        first = n.run_pods(job_specs(4, "kup"))
        kcheck, _, _ = wait_kafka(k, first, 30, node_name=n.node_name)
        assert kcheck.ok, f"before the brokers went down:\n{kcheck.report()}"
        for b in (1, 2, 3):
            k.down(b)
        second = n.run_pods(job_specs(8, "kdown"))
        node.wait_for_pods(g, first + second, timeout=30, node_name=n.node_name)
        time.sleep(1)
        for b in (1, 2, 3):
            k.up(b)
        kcheck, _, messages = wait_kafka(k, first + second, 60, node_name=n.node_name)
        assert kcheck.ok, f"after the brokers came back:\n{kcheck.report()}\n" \
                          f"{g.stderr_tail(10)}"
        problems = check_messages(messages)
        assert not problems, "\n".join(problems)
        g.check_clean_exit()
    return f"{len(messages)} messages, each once"


def test_restart_resends_only_unconfirmed():
    """Lines confirmed before a stop are not sent again; lines read while
    the brokers were down are sent by the next agent, from the positions
    the first one saved, and the container events the first one still held
    come from its spool."""
    need_kafkamock()
    with kafka.KafkaMock() as k, node.Node() as n:
        state = os.path.join(n.workdir, "shared-state")
        os.makedirs(state)
        g = start_agent(n, k, ["--state-dir", state])
        first = n.run_pods(job_specs(4, "kconf", remove_after_ms=None))
        kcheck, _, _ = wait_kafka(k, first, 30, node_name=n.node_name)
        assert kcheck.ok, f"first pods:\n{kcheck.report()}"
        time.sleep(1.5)  # a checkpoint interval: their positions are saved
        for b in (1, 2, 3):
            k.down(b)
        second = n.run_pods(job_specs(4, "kunconf", remove_after_ms=None))
        node.wait_for_pods(g, second, timeout=30, node_name=n.node_name)
        g.stop(timeout=30)
        g.check_clean_exit()
        kept = g.find_log(lambda e: "kept in its spool" in str(e.get("msg")))
        assert kept, "the first agent did not spool the container events it held"
        for b in (1, 2, 3):
            k.up(b)
        g2 = start_agent(n, k, ["--state-dir", state])
        kcheck, events, messages = wait_kafka(k, first + second, 60, node_name=n.node_name)
        assert kcheck.ok, f"after the restart:\n{kcheck.report()}\n{g2.stderr_tail(10)}"
        g2.stop()
        g2.check_clean_exit()
    return f"{len(messages)} messages, none sent twice"


def test_spool_while_behind():
    """An output that holds more than max_queued_bytes: reading pauses, its
    container events go to its spool and come back in order once the
    brokers return; nothing lost, nothing twice."""
    need_kafkamock()
    with kafka.KafkaMock() as k, node.Node() as n:
        g = start_agent(n, k, ["--max-queued-bytes", str(1 << 20)])
        for b in (1, 2, 3):
            k.down(b)
        pods = n.run_pods(job_specs(8, "kspool", lines=400))
        g.wait_log(lambda e: "wait in its spool" in str(e.get("msg")), 30,
                   "the output to start spooling")
        for b in (1, 2, 3):
            k.up(b)
        kcheck, _, messages = wait_kafka(k, pods, 90, node_name=n.node_name)
        assert kcheck.ok, f"with a spool:\n{kcheck.report()}\n{g.stderr_tail(10)}"
        problems = check_messages(messages)
        assert not problems, "\n".join(problems)
        g.stop()
        g.check_clean_exit()
        stopped = g.find_log(lambda e: e.get("msg") == "stopped")
        out = {o["name"]: o for o in (stopped[-1].get("outputs", []) if stopped else [])}
        kafka_out = out.get("kafka-e2e", {})
        assert kafka_out.get("spooled", 0) > 0, f"nothing was spooled: {kafka_out}"
        assert kafka_out.get("replayed") == kafka_out.get("spooled"), f"{kafka_out}"
    return f"{kafka_out['spooled']} container events went through the spool"


if __name__ == "__main__":
    sys.exit(node.run_tests([
        test_job_pods_to_kafka,
        test_brokers_down_and_back_lose_nothing,
        test_restart_resends_only_unconfirmed,
        test_spool_while_behind,
    ]))
