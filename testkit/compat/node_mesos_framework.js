#!/usr/bin/env node
// Compatibility check: mesos-framework (npm, unmodified) against the plinth
// testkit master.
//
//   NODE_PATH=<dir with node_modules> node node_mesos_framework.js http://127.0.0.1:PORT
//
// The library's own Scheduler subscribes, matches the first offer against one
// command task (`echo hello-from-node; exit 0`, cpus 0.1, mem 32), launches
// it with ACCEPT and acknowledges every update that carries a uuid (its
// built-in UPDATE handler). We wait for TASK_FINISHED, TEARDOWN, and print a
// PASS line; any error the library reports, or a 30 s timeout, prints FAIL
// with the reason and exits non-zero.
"use strict";

var os = require("os");
var url = require("url");

var TIMEOUT_MS = 30000;
var CLIENT = "node-mesos-framework";

if (process.argv.length !== 3) {
    console.error("usage: node node_mesos_framework.js MASTER_URL");
    process.exit(2);
}
var master = url.parse(process.argv[2]);

var mf = require("mesos-framework");
var Scheduler = mf.Scheduler;
var Mesos = mf.Mesos.getMesos();

var finished = false;
var seen = [];
var errors = [];

function finish(ok, message) {
    if (finished) {
        return;
    }
    finished = true;
    console.log((ok ? "PASS " : "FAIL ") + CLIENT + ": " + message);
    var code = ok ? 0 : 1;
    try {
        if (scheduler.frameworkId && scheduler.mesosStreamId) {
            scheduler.teardown();
        }
    } catch (e) {
        console.error("teardown: " + e);
    }
    // Let the TEARDOWN go out before exiting.
    setTimeout(function () { process.exit(code); }, 500);
}

var scheduler = new Scheduler({
    "masterUrl": master.hostname,
    "port": master.port,
    "frameworkName": "compat-mesos-framework",
    "user": process.env.USER || "root",
    // The library's default (10 s) is shorter than Mesos' 15 s heartbeat
    // interval, so against a real master an idle stream times out and the
    // library re-subscribes. Not a master issue; give it a sane value.
    "masterConnectionTimeout": 60,
    // The library's default is a week (and 0 means "default"); a check that
    // dies without TEARDOWN should not leave its tasks behind.
    "frameworkFailoverTimeout": 0.001,
    "logging": {
        "path": os.tmpdir(),
        "fileName": "plinth-compat-mesos-framework.log",
        "level": process.env.LOGLEVEL || "info"
    },
    "tasks": {
        "hello": {
            "priority": 1,
            "instances": 1,
            "commandInfo": new Mesos.CommandInfo(
                null, // URIs
                null, // Environment
                true, // shell
                "echo hello-from-node; exit 0", // value
                null, // arguments
                null // user
            ),
            "resources": {
                "cpus": 0.1,
                "mem": 32,
                "ports": 0,
                "disk": 0
            }
        }
    }
});

scheduler.on("subscribed", function (obj) {
    scheduler.logger.info("subscribed: framework " + obj.frameworkId + ", stream " + obj.mesosStreamId);
});

scheduler.on("sent_accept", function () {
    scheduler.logger.info("ACCEPT sent (202)");
});

scheduler.on("update", function (update) {
    var status = update.status;
    seen.push(status.state);
    scheduler.logger.info("update: " + status.task_id.value + " " + status.state +
        " (agent " + (status.agent_id && status.agent_id.value) +
        ", executor " + (status.executor_id && status.executor_id.value) + ")");
    // A real agent sets executor_id on every update it forwards (the command
    // executor's id is the task id). The library records it as the task's
    // executor (task.runtimeInfo.executorId) and, when it is missing, fills
    // in {value: undefined}.
    if (!status.executor_id || status.executor_id.value !== status.task_id.value) {
        finish(false, status.state + " update lacks executor_id == task id: " + JSON.stringify(status));
        return;
    }
    if (status.state === "TASK_FINISHED") {
        // The library's UPDATE handler has run (and sent the ACK) before this event.
        finish(true, "TASK_FINISHED after " + seen.join(" -> "));
    } else if (["TASK_FAILED", "TASK_LOST", "TASK_ERROR", "TASK_KILLED", "TASK_DROPPED", "TASK_GONE"].indexOf(status.state) > -1) {
        finish(false, "task ended in " + status.state + ": " + status.message);
    }
});

scheduler.on("error", function (error) {
    var message = (error && error.message) ? error.message : String(error);
    if (error && error.stack) {
        message += " " + String(error.stack).split("\n").slice(0, 3).join(" | ");
    }
    scheduler.logger.error("library error: " + message);
    errors.push(message);
    if (finished) {
        return;
    }
    // Everything the library reports before TASK_FINISHED is a failure: a
    // non-202 answer, a SUBSCRIBE refused, an ERROR event, an event it could
    // not handle ("Couldn't parse as JSON" wraps handler exceptions), a
    // closed stream.
    finish(false, "library reported: " + message);
});

scheduler.on("ready", function () {
    scheduler.subscribe();
});

setTimeout(function () {
    finish(false, "timeout after " + TIMEOUT_MS / 1000 + " s; updates seen: [" + seen.join(", ") +
        "]; errors: [" + errors.join("; ") + "]");
}, TIMEOUT_MS).unref();
