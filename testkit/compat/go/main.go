// Command mesos-go-check: compatibility check of mesos-go (unmodified,
// github.com/mesos/mesos-go v0.0.11, api/v1 HTTP scheduler packages) against
// the plinth testkit master.
//
//	go run . -codec protobuf http://127.0.0.1:PORT
//	go run . -codec json     http://127.0.0.1:PORT
//
// It subscribes with the library's controller, accepts the first offer with
// one command task (`echo hello-from-go; exit 0`, cpus 0.1, mem 32),
// acknowledges status updates with the library's AckStatusUpdates rule,
// waits for TASK_FINISHED, tears the framework down and prints a PASS line.
// Any failure, or no TASK_FINISHED within 30 s, prints FAIL with the reason
// and exits non-zero.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/callrules"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/controller"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/eventrules"
	"github.com/mesos/mesos-go/api/v1/lib/extras/store"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/events"
)

const timeout = 30 * time.Second

type outcome struct {
	once sync.Once
	ok   bool
	msg  string
	done chan struct{}
}

func (o *outcome) finish(ok bool, format string, args ...interface{}) {
	o.once.Do(func() {
		o.ok = ok
		o.msg = fmt.Sprintf(format, args...)
		close(o.done)
	})
}

func main() {
	codecName := flag.String("codec", "protobuf", "wire encoding: protobuf or json")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mesos-go-check [-codec protobuf|json] MASTER_URL")
		os.Exit(2)
	}
	client := "go-mesos-go-" + *codecName
	var codecType = codecs.MediaTypeProtobuf
	switch *codecName {
	case "protobuf":
	case "json":
		codecType = codecs.MediaTypeJSON
	default:
		fmt.Fprintf(os.Stderr, "unknown codec %q\n", *codecName)
		os.Exit(2)
	}
	endpoint := strings.TrimRight(flag.Arg(0), "/") + "/api/v1/scheduler"
	log.SetPrefix("mesos-go-check[" + *codecName + "] ")

	cli := httpsched.NewCaller(
		httpcli.New(
			httpcli.Endpoint(endpoint),
			httpcli.Codec(codecs.ByMediaType[codecType]),
			httpcli.Do(httpcli.With(httpcli.Timeout(10*time.Second))),
		),
		httpsched.Listener(func(n httpsched.Notification) { log.Printf("client notification: %+v", n) }),
	)

	user := os.Getenv("USER")
	if user == "" {
		user = "root"
	}
	hostname := "localhost"
	framework := &mesos.FrameworkInfo{User: user, Name: "compat-mesos-go-" + *codecName, Hostname: &hostname}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := &outcome{done: make(chan struct{})}
	fidStore := store.NewInMemorySingleton()
	// Calls other than SUBSCRIBE get the framework id from the store, as in
	// the library's example-scheduler.
	caller := callrules.New(callrules.WithFrameworkID(store.GetIgnoreErrors(fidStore))).Caller(cli)
	taskID := fmt.Sprintf("mesos-go-%s-%d", *codecName, time.Now().UnixNano()%100000)
	var (
		mu       sync.Mutex
		launched bool
		seen     []string
	)

	handler := eventrules.New(
		controller.LiftErrors().DropOnError(),
	).Handle(events.Handlers{
		scheduler.Event_SUBSCRIBED: eventrules.New(controller.TrackSubscription(fidStore, 0)).HandleF(
			func(_ context.Context, e *scheduler.Event) error {
				s := e.GetSubscribed()
				log.Printf("subscribed: framework %s, heartbeat %v s, master %s",
					s.GetFrameworkID().GetValue(), s.GetHeartbeatIntervalSeconds(), s.GetMasterInfo().GetVersion())
				return nil
			}),
		scheduler.Event_OFFERS: events.HandlerFunc(func(ctx context.Context, e *scheduler.Event) error {
			for _, offer := range e.GetOffers().GetOffers() {
				mu.Lock()
				first := !launched
				launched = true
				mu.Unlock()
				if !first {
					if err := calls.CallNoData(ctx, caller, calls.Decline(offer.ID)); err != nil {
						log.Printf("decline failed: %v", err)
					}
					continue
				}
				wants := mesos.Resources{}
				wants.Add(resources.NewCPUs(0.1).Resource, resources.NewMemory(32).Resource)
				shell := true
				cmd := "echo hello-from-go; exit 0"
				task := mesos.TaskInfo{
					Name:      "hello-from-go",
					TaskID:    mesos.TaskID{Value: taskID},
					AgentID:   offer.AgentID,
					Command:   &mesos.CommandInfo{Value: &cmd, Shell: &shell},
					Resources: wants,
				}
				log.Printf("launching %s on offer %s (agent %s, url %v)", taskID, offer.ID.Value, offer.AgentID.Value, offer.GetURL())
				accept := calls.Accept(calls.OfferOperations{calls.OpLaunch(task)}.WithOffers(offer.ID))
				if err := calls.CallNoData(ctx, caller, accept); err != nil {
					res.finish(false, "ACCEPT failed: %v", err)
				}
			}
			return nil
		}),
		scheduler.Event_UPDATE: controller.AckStatusUpdates(caller).AndThen().HandleF(
			func(_ context.Context, e *scheduler.Event) error {
				s := e.GetUpdate().GetStatus()
				mu.Lock()
				seen = append(seen, s.GetState().String())
				trail := strings.Join(seen, " -> ")
				mu.Unlock()
				log.Printf("update: task %s %s (agent %s, executor %s, uuid %d bytes, message %q)",
					s.TaskID.Value, s.GetState(), s.GetAgentID().GetValue(),
					s.GetExecutorID().GetValue(), len(s.GetUUID()), s.GetMessage())
				if s.TaskID.Value != taskID {
					return nil
				}
				// A real agent sets the executor id on every update it
				// forwards; a command task's executor id is the task id.
				if len(s.GetUUID()) > 0 && s.GetExecutorID().GetValue() != taskID {
					res.finish(false, "%s update lacks executor_id == task id (got %q)", s.GetState(), s.GetExecutorID().GetValue())
					return nil
				}
				switch s.GetState() {
				case mesos.TASK_FINISHED:
					res.finish(true, "TASK_FINISHED after %s", trail)
				case mesos.TASK_FAILED, mesos.TASK_LOST, mesos.TASK_ERROR, mesos.TASK_KILLED,
					mesos.TASK_DROPPED, mesos.TASK_GONE:
					res.finish(false, "task ended in %s: %s", s.GetState(), s.GetMessage())
				}
				return nil
			}),
		scheduler.Event_ERROR: events.HandlerFunc(func(_ context.Context, e *scheduler.Event) error {
			res.finish(false, "ERROR event: %s", e.GetError().GetMessage())
			return nil
		}),
	}.Otherwise(func(_ context.Context, e *scheduler.Event) error {
		if e.GetType() != scheduler.Event_HEARTBEAT {
			log.Printf("event %s", e.GetType())
		}
		return nil
	}))

	// Subscribe once: the controller would otherwise re-subscribe (as a new
	// framework) after our TEARDOWN ends the stream.
	tokens := make(chan struct{}, 1)
	tokens <- struct{}{}
	close(tokens)

	runCtx, stop := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() {
		runDone <- controller.Run(runCtx, framework, caller,
			controller.WithEventHandler(handler),
			controller.WithFrameworkID(store.GetIgnoreErrors(fidStore)),
			controller.WithRegistrationTokens(tokens),
			controller.WithSubscriptionTerminated(func(err error) {
				if err != nil && err != io.EOF && !errors.Is(err, context.Canceled) {
					log.Printf("subscription terminated: %v", err)
					res.finish(false, "subscription failed: %v", err)
				}
			}),
		)
	}()

	select {
	case <-res.done:
	case <-ctx.Done():
		mu.Lock()
		trail := strings.Join(seen, " -> ")
		mu.Unlock()
		res.finish(false, "timeout after %v; updates seen: [%s]", timeout, trail)
	}
	// Clean up: TEARDOWN the framework (best effort), then stop the controller.
	if _, err := fidStore.Get(); err == nil {
		tctx, tcancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := calls.CallNoData(tctx, caller, &scheduler.Call{Type: scheduler.Call_TEARDOWN}); err != nil {
			log.Printf("teardown: %v", err)
		}
		tcancel()
	}
	stop()
	select {
	case <-runDone:
	case <-time.After(3 * time.Second):
	}
	status := "FAIL"
	code := 1
	if res.ok {
		status, code = "PASS", 0
	}
	fmt.Printf("%s %s: %s\n", status, client, res.msg)
	os.Exit(code)
}
