package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"yici/internal/browsertest"
)

// The public form in a real browser: triage pre-selects the category as
// the person types.
func TestReportFormInBrowser(t *testing.T) {
	s := startServer(t)
	b := browsertest.New(t)
	tab := b.Tab("citizen")
	var title, category string
	tab.Run(t, 30*time.Second,
		chromedp.Navigate(s.URL+"/report"),
		chromedp.Title(&title),
		chromedp.SendKeys(`#f-content`, "文新街道丰潭路一家烧烤店油烟直排，晚上整栋楼都是油烟味", chromedp.ByID),
		chromedp.Poll(`document.querySelector('#f-category') && document.querySelector('#f-category').value !== ''`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Value(`#f-category`, &category, chromedp.ByID),
	)
	if !strings.Contains(title, "12345") && !strings.Contains(title, "反映") {
		t.Errorf("title %q", title)
	}
	if category != "0104" {
		t.Errorf("triage pre-selected %q, want 0104 餐饮油烟", category)
	}
}
