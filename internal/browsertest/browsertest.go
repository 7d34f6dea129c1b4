// Package browsertest drives Debian's headless Chromium with chromedp for
// the pages' end-to-end tests, and keeps a screenshot of every page a
// failed test left open.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// Chromium returns the browser binary, or "" when none is installed.
func Chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// ArtifactsDir is where screenshots of failed tests go (YICI_TEST_ARTIFACTS,
// default <tmp>/yici-artifacts).
func ArtifactsDir() string {
	if d := os.Getenv("YICI_TEST_ARTIFACTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "yici-artifacts")
}

// Browser is one headless Chromium for a test; Tab opens pages in it.
type Browser struct {
	t      testing.TB
	ctx    context.Context
	cancel context.CancelFunc
	tabs   []*Tab
	// first is the first tab's context: it holds the browser process, and
	// the later tabs are new browser contexts (own cookies) inside it.
	first context.Context
}

// New starts Chromium for the test (skipped, with the reason, when the
// machine has none: `make test` installs it), closed at the end.
func New(t testing.TB) *Browser {
	t.Helper()
	bin := Chromium()
	if bin == "" {
		t.Skip("browser test skipped: no chromium on this machine (make test installs Debian's chromium when it can)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &Browser{t: t, ctx: actx, cancel: acancel}
	t.Cleanup(b.close)
	return b
}

// Tab is one page (its own cookies: each Browser.Tab is a fresh context
// of the same browser, so two users can be signed in side by side).
type Tab struct {
	Ctx    context.Context
	name   string
	cancel context.CancelFunc
}

// Tab opens a new browser window (a separate profile context) named for
// the screenshots.
func (b *Browser) Tab(name string) *Tab {
	b.t.Helper()
	var ctx context.Context
	var cancel context.CancelFunc
	if b.first == nil {
		ctx, cancel = chromedp.NewContext(b.ctx) // starts the browser
	} else {
		// A window in a new browser context (its own cookies) of the same
		// browser process: a second process on the same profile directory
		// would refuse to start, and headless Chromium opens a target in a
		// fresh browser context only as a new window.
		id, err := b.newWindow()
		if err != nil {
			b.t.Fatalf("browser: %v", err)
		}
		ctx, cancel = chromedp.NewContext(b.first, chromedp.WithTargetID(id))
	}
	if err := chromedp.Run(ctx); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	if b.first == nil {
		b.first = ctx
	}
	tab := &Tab{Ctx: ctx, name: name, cancel: cancel}
	b.tabs = append(b.tabs, tab)
	return tab
}

// Run runs actions with a time limit, failing the test on error.
func (tb *Tab) Run(t testing.TB, timeout time.Duration, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.Ctx, timeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", tb.name, err)
	}
}

// newWindow opens a blank window in a new browser context.
func (b *Browser) newWindow() (target.ID, error) {
	c := chromedp.FromContext(b.first)
	ctx := cdp.WithExecutor(b.first, c.Browser)
	bc, err := target.CreateBrowserContext().WithDisposeOnDetach(true).Do(ctx)
	if err != nil {
		return "", err
	}
	return target.CreateTarget("about:blank").WithBrowserContextID(bc).WithNewWindow(true).Do(ctx)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func (b *Browser) close() {
	if b.t.Failed() {
		dir := ArtifactsDir()
		os.MkdirAll(dir, 0o755)
		for _, tab := range b.tabs {
			var png []byte
			ctx, cancel := context.WithTimeout(tab.Ctx, 5*time.Second)
			if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err == nil {
				p := filepath.Join(dir, unsafeName.ReplaceAllString(b.t.Name()+"-"+tab.name, "_")+".png")
				if os.WriteFile(p, png, 0o644) == nil {
					b.t.Logf("screenshot of %s: %s", tab.name, p)
				}
			}
			cancel()
		}
	}
	// The first tab holds the browser: it closes last, and gracefully
	// (chromedp.Cancel waits for the browser to exit, so that the profile
	// directory can be removed).
	for i := len(b.tabs) - 1; i >= 1; i-- {
		b.tabs[i].cancel()
	}
	if len(b.tabs) > 0 {
		if b.tabs[0].Ctx.Err() == nil { // a test may have closed it already
			chromedp.Cancel(b.tabs[0].Ctx)
		}
		b.tabs[0].cancel()
	}
	b.cancel()
}

// FailOnScriptErrors fails t, when it ends, for every uncaught script error
// and Content Security Policy violation in the tab (name says which).
func (tb *Tab) FailOnScriptErrors(t testing.TB, name string) {
	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(tb.Ctx, func(ev any) {
		var p string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			p = "script error: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				p += " " + ev.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Source == cdplog.SourceSecurity || strings.Contains(ev.Entry.Text, "Content Security Policy") {
				p = "security: " + ev.Entry.Text
			}
		}
		if p != "" {
			mu.Lock()
			problems = append(problems, p)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("%s: %s", name, p)
		}
	})
}
