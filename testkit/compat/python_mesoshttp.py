#!/usr/bin/env python3
"""Compatibility check: mesoshttp (or its fork avmesos), unmodified from PyPI,
against the testkit master.

Usage: python_mesoshttp.py [--module mesoshttp|avmesos] http://127.0.0.1:PORT

Subscribes, accepts the first offer with one command task
(`echo hello-from-mesoshttp; exit 0`, cpus 0.1, mem 32), waits for
TASK_FINISHED (the library ACKs every update with a uuid itself), prints a
PASS line and exits 0; FAIL with the reason (or a 30 s timeout) exits 1.

Library limitation worked around here (a real master triggers it too): the
library reads the RecordIO stream with requests' iter_lines(), so a record is
only handled once the *next* record's length line arrives. An UPDATE that is
waiting for its ACK (or the first OFFERS) is therefore stuck until the next
event (a HEARTBEAT, 15 s later, or the agent's resend, 10 s later). To keep
events flowing, this program reconciles a non-existent task once a second
after SUBSCRIBED; each answer (TASK_LOST, no uuid, not acknowledged) is one
more event on the stream. This uses only the library's public driver API.
"""
import argparse
import importlib
import logging
import os
import sys
import threading
import time
import uuid

TIMEOUT = 30.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", default="mesoshttp", choices=["mesoshttp", "avmesos"])
    parser.add_argument("master")
    args = parser.parse_args()
    client_name = "python-" + args.module
    logging.basicConfig(level=os.environ.get("LOGLEVEL", "INFO"),
                        format="%(asctime)s " + args.module + "-check %(levelname)s %(message)s")
    MesosClient = importlib.import_module(args.module + ".client").MesosClient

    done = threading.Event()
    result = {}
    state = {"launched": False, "driver": None, "seen": []}
    task_id = args.module + "-" + uuid.uuid4().hex[:8]

    def finish(ok, message):
        if "ok" not in result:
            result["ok"], result["message"] = ok, message
        done.set()

    client = MesosClient(mesos_urls=[args.master.rstrip("/")],
                         frameworkName="compat-" + args.module,
                         frameworkUser=os.environ.get("USER") or "root",
                         frameworkHostname="localhost",
                         max_reconnect=1)

    def subscribed(driver):
        logging.info("subscribed: framework %s", client.frameworkId)
        state["driver"] = driver

    def offers(offer_list):
        for offer in offer_list:
            o = offer.get_offer()
            if state["launched"]:
                offer.decline()
                continue
            state["launched"] = True
            task = {
                "name": "hello-from-" + args.module,
                "task_id": {"value": task_id},
                "agent_id": {"value": o["agent_id"]["value"]},
                "command": {"value": "echo hello-from-mesoshttp; exit 0", "shell": True},
                "resources": [
                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
                ],
            }
            logging.info("launching %s on offer %s", task_id, o["id"]["value"])
            offer.accept([task])

    def update(u):
        status = u["status"]
        if status["task_id"]["value"] != task_id:
            return
        state["seen"].append(status["state"])
        logging.info("update: %s %s", status["task_id"]["value"], status["state"])
        if "uuid" in status and status.get("executor_id", {}).get("value") != task_id:
            # A real agent sets it: the command executor's id is the task id.
            finish(False, "%s update lacks executor_id == task id: %s" % (status["state"], status))
            return
        if status["state"] == "TASK_FINISHED":
            finish(True, "TASK_FINISHED after " + " -> ".join(state["seen"]))
        elif status["state"] in ("TASK_FAILED", "TASK_LOST", "TASK_ERROR", "TASK_KILLED",
                                 "TASK_DROPPED", "TASK_GONE"):
            finish(False, "task ended in %s: %s" % (status["state"], status.get("message")))

    def error(message):
        finish(False, "ERROR event: %s" % message)

    client.on(MesosClient.SUBSCRIBED, subscribed)
    client.on(MesosClient.OFFERS, offers)
    client.on(MesosClient.UPDATE, update)
    client.on(MesosClient.ERROR, error)

    def run():
        try:
            ok = client.register()
            if not ok:
                finish(False, "register() failed (see log)")
        except Exception as e:  # noqa: BLE001
            finish(False, "register() raised %r" % (e,))

    threading.Thread(target=run, daemon=True).start()

    deadline = time.time() + TIMEOUT
    while not done.wait(1.0):
        if time.time() > deadline:
            finish(False, "timeout after %.0f s; updates seen: %s" % (TIMEOUT, state["seen"]))
            break
        driver = state["driver"]
        if driver is not None:
            # Explicit reconciliation of a task that does not exist: the master
            # answers with one UPDATE (TASK_LOST, no uuid), i.e. one more event
            # on the stream, which flushes the one before it (see above).
            try:
                driver.reconcile([{"task_id": {"value": "nudge-" + task_id}}])
            except Exception as e:  # noqa: BLE001
                logging.warning("reconcile: %r", e)

    if state["driver"] is not None:
        client.stop = True
        state["driver"].tearDown()
    print("%s %s: %s" % ("PASS" if result["ok"] else "FAIL", client_name, result["message"]), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
