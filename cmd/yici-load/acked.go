package main

import (
	"bufio"
	"fmt"
	"os"
	"sync"
	"time"
)

// AckLog writes every acknowledged submission (a 2xx with its tracking
// number) to a file, so that fault tests can check afterwards that each
// one is in the database. One line per submission, tab-separated:
//
//	tracking_no  channel  idempotency_key  http_status  phone_last4  ack_unix_ms  routed
//
// Lines are flushed every second and at the end.
type AckLog struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
	n  int
}

// OpenAckLog creates (or appends to) path; "" gives a log that writes nothing.
func OpenAckLog(path string) (*AckLog, error) {
	if path == "" {
		return &AckLog{}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	l := &AckLog{f: f, w: bufio.NewWriterSize(f, 64<<10)}
	fmt.Fprintf(l.w, "# yici-load acknowledged submissions, %s: tracking_no channel idempotency_key http_status phone_last4 ack_unix_ms routed\n",
		time.Now().UTC().Format(time.RFC3339))
	return l, nil
}

// Add records one acknowledged submission.
func (l *AckLog) Add(trackingNo, channel, key string, status int, last4 string, at time.Time, routed bool) {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	fmt.Fprintf(l.w, "%s\t%s\t%s\t%d\t%s\t%d\t%t\n", trackingNo, channel, key, status, last4, at.UnixMilli(), routed)
	l.n++
	l.mu.Unlock()
}

// Flush writes what is buffered.
func (l *AckLog) Flush() error {
	if l.w == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}

// Close flushes and closes the file.
func (l *AckLog) Close() error {
	if l.w == nil {
		return nil
	}
	err := l.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
