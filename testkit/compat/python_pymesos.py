#!/usr/bin/env python3
"""Compatibility check: pymesos (unmodified, from PyPI) against the testkit master.

Usage: python_pymesos.py http://127.0.0.1:PORT

Subscribes, accepts the first offer with one command task
(`echo hello-from-python; exit 0`, cpus 0.1, mem 32), waits for
TASK_FINISHED (pymesos acknowledges every update that carries a uuid itself:
implicit_acknowledgements=True), prints a PASS line and exits 0. Any failure
or a 30 s timeout prints FAIL with the reason and exits non-zero.
"""
import logging
import os
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

from pymesos import MesosSchedulerDriver, Scheduler

TIMEOUT = 30.0
CLIENT = "python-pymesos"


class Check(Scheduler):
    def __init__(self):
        self.launched = False
        self.done = threading.Event()
        self.result = None  # (ok, message)
        self.updates = []
        self.task_id = "pymesos-" + uuid.uuid4().hex[:8]
        self.lock = threading.Lock()

    def finish(self, ok, message):
        with self.lock:
            if self.result is None:
                self.result = (ok, message)
        self.done.set()

    def registered(self, driver, framework_id, master_info):
        logging.info("registered: framework %s, master %s", framework_id, master_info)

    def resourceOffers(self, driver, offers):
        for offer in offers:
            if self.launched:
                driver.declineOffer(offer["id"])
                continue
            self.launched = True
            task = {
                "name": "hello-from-python",
                "task_id": {"value": self.task_id},
                "agent_id": {"value": offer["agent_id"]["value"]},
                "command": {"value": "echo hello-from-python; exit 0", "shell": True},
                "resources": [
                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
                ],
            }
            logging.info("launching %s on offer %s", self.task_id, offer["id"]["value"])
            try:
                driver.launchTasks(offer["id"], [task])
            except Exception as e:  # the master answered non-2xx
                self.finish(False, "ACCEPT failed: %s" % e)

    def statusUpdate(self, driver, update):
        state = update.get("state")
        self.updates.append(state)
        logging.info("update: %s %s uuid=%s", update.get("task_id"), state, update.get("uuid"))
        if update.get("task_id", {}).get("value") != self.task_id:
            return
        # What a real Mesos agent puts on every update it forwards (pymesos
        # hands it to the scheduler as is): the agent id and uuid (needed to
        # acknowledge) and the executor id, which for a command task is the
        # command executor's, i.e. the task id.
        problems = [k for k in ("agent_id", "uuid") if k not in update]
        if update.get("executor_id", {}).get("value") != self.task_id:
            problems.append("executor_id == task id")
        if problems:
            self.finish(False, "%s update lacks %s: %s" % (state, ", ".join(problems), dict(update)))
            return
        if state == "TASK_FINISHED":
            self.finish(True, "TASK_FINISHED after %s" % " -> ".join(self.updates))
        elif state in ("TASK_FAILED", "TASK_LOST", "TASK_ERROR", "TASK_KILLED",
                       "TASK_DROPPED", "TASK_GONE"):
            self.finish(False, "task ended in %s: %s" % (state, update.get("message")))

    def error(self, driver, message):
        self.finish(False, "ERROR event: %s" % message)


def main():
    if len(sys.argv) != 2:
        print("usage: %s MASTER_URL" % sys.argv[0], file=sys.stderr)
        return 2
    logging.basicConfig(level=os.environ.get("LOGLEVEL", "INFO"),
                        format="%(asctime)s pymesos-check %(levelname)s %(message)s")
    url = urlparse(sys.argv[1])
    master = url.netloc or sys.argv[1]
    check = Check()
    framework = {
        "user": os.environ.get("USER") or "root",
        "name": "compat-pymesos",
        "hostname": "localhost",
    }
    driver = MesosSchedulerDriver(check, framework, master, use_addict=True)
    # failover=False makes stop() send TEARDOWN (as a well-behaved test framework should).
    driver.start()
    deadline = time.time() + TIMEOUT
    while time.time() < deadline and not check.done.is_set():
        if driver.aborted and not check.done.is_set():
            check.finish(False, "driver aborted (see log above)")
            break
        check.done.wait(0.2)
    if not check.done.is_set():
        check.finish(False, "timeout after %.0f s; updates seen: %s" % (TIMEOUT, check.updates))
    # Give the implicit ACK of the final update a moment to go out, then tear down.
    time.sleep(0.5)
    try:
        driver.stop()
        driver.join()
    except BaseException as e:  # noqa: BLE001
        logging.warning("stop: %r", e)
    ok, message = check.result
    print("%s %s: %s" % ("PASS" if ok else "FAIL", CLIENT, message), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
