package open311_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"yici/channels/open311"
	"yici/router/taxonomy"
)

// The conformance tests walk every endpoint in both formats against the
// points of GeoReport v2 (wiki.open311.org/GeoReport_v2) and its Service
// Discovery: names of fields and elements, ids as strings, times in the
// W3C format with an offset, the error format and status codes,
// jurisdiction_id, empty parameters.

func TestDiscovery(t *testing.T) {
	t.Parallel()
	e := start(t, open311.Options{PublicURL: "https://12345.example.gov.cn/"})
	a := e.get(t, "/open311/v2/discovery.json")
	if a.status != 200 || a.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("%d %s", a.status, a.header.Get("Content-Type"))
	}
	d := a.jsonObject(t)
	for _, k := range []string{"changeset", "contact", "key_service"} {
		if str(t, d, k) == "" {
			t.Errorf("%s empty", k)
		}
	}
	eps, _ := d["endpoints"].([]any)
	if len(eps) != 1 {
		t.Fatalf("endpoints %v", d["endpoints"])
	}
	ep := eps[0].(map[string]any)
	if str(t, ep, "specification") != "http://wiki.open311.org/GeoReport_v2" || str(t, ep, "url") != "https://12345.example.gov.cn/open311/v2" ||
		str(t, ep, "type") != "production" || str(t, ep, "changeset") == "" {
		t.Errorf("endpoint %v", ep)
	}
	if f, _ := ep["formats"].([]any); !slices.Contains(f, any("text/xml")) || !slices.Contains(f, any("application/json")) {
		t.Errorf("formats %v", ep["formats"])
	}

	n := e.get(t, "/open311/v2/discovery.xml").xmlDoc(t)
	if n.XMLName.Local != "discovery" || !slices.Equal(n.names(), []string{"changeset", "contact", "key_service", "endpoints"}) {
		t.Fatalf("discovery.xml: %s %v", n.XMLName.Local, n.names())
	}
	endpoints, _ := n.child("endpoints")
	ex := endpoints.Children[0]
	formats, _ := ex.child("formats")
	if ex.XMLName.Local != "endpoint" || ex.text("specification") != "http://wiki.open311.org/GeoReport_v2" ||
		!slices.Equal(formats.names(), []string{"format", "format"}) {
		t.Fatalf("endpoint element %+v", ex)
	}
}

func TestServices(t *testing.T) {
	t.Parallel()
	e := start(t, open311.Options{})
	tax := taxonomy.Default()
	withMetadata := []string{"0305", "0601", "1101", "1102", "1103", "1104"}

	t.Run("list json", func(t *testing.T) {
		a := e.get(t, "/open311/v2/services.json")
		list := a.jsonArray(t)
		if len(list) != len(tax.Categories()) || len(list) != 60 {
			t.Fatalf("%d services, want one per category (60)", len(list))
		}
		for i, s := range list {
			c := tax.Categories()[i]
			if str(t, s, "service_code") != c.Code || str(t, s, "service_name") != c.Name || str(t, s, "group") != c.Group ||
				str(t, s, "type") != "realtime" || !strings.Contains(str(t, s, "keywords"), c.Group) || str(t, s, "description") == "" {
				t.Errorf("service %d: %v", i, s)
			}
			if m, ok := s["metadata"].(bool); !ok || m != slices.Contains(withMetadata, c.Code) {
				t.Errorf("%s: metadata %#v", c.Code, s["metadata"])
			}
		}
	})
	t.Run("list xml", func(t *testing.T) {
		n := e.get(t, "/open311/v2/services.xml").xmlDoc(t)
		if n.XMLName.Local != "services" || len(n.Children) != 60 {
			t.Fatalf("root %s with %d children", n.XMLName.Local, len(n.Children))
		}
		for _, s := range n.Children {
			if s.XMLName.Local != "service" ||
				!slices.Equal(s.names(), []string{"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}) {
				t.Fatalf("service element %s %v", s.XMLName.Local, s.names())
			}
		}
		if n.Children[0].text("service_code") != "0101" || n.Children[0].text("metadata") != "false" {
			t.Errorf("first service %+v", n.Children[0])
		}
	})
	t.Run("definition json", func(t *testing.T) {
		d := e.get(t, "/open311/v2/services/0305.json").jsonObject(t)
		if str(t, d, "service_code") != "0305" {
			t.Fatalf("%v", d)
		}
		attrs := d["attributes"].([]any)
		a := attrs[0].(map[string]any)
		if str(t, a, "code") != "trapped" || str(t, a, "datatype") != "singlevaluelist" || a["required"] != true || a["variable"] != true ||
			a["order"] != json.Number("1") || str(t, a, "description") == "" {
			t.Fatalf("attribute %v", a)
		}
		vals := a["values"].([]any)
		if k := vals[0].(map[string]any); str(t, k, "key") != "yes" || str(t, k, "name") == "" {
			t.Fatalf("values %v", vals)
		}
		for _, code := range withMetadata {
			d := e.get(t, "/open311/v2/services/"+code+".json").jsonObject(t)
			if len(d["attributes"].([]any)) == 0 {
				t.Errorf("%s has metadata but no attributes", code)
			}
		}
		if d := e.get(t, "/open311/v2/services/0101.json").jsonObject(t); len(d["attributes"].([]any)) != 0 {
			t.Errorf("0101 attributes %v", d["attributes"])
		}
	})
	t.Run("definition xml", func(t *testing.T) {
		n := e.get(t, "/open311/v2/services/0601.xml").xmlDoc(t)
		attrs, _ := n.child("attributes")
		if n.XMLName.Local != "service_definition" || n.text("service_code") != "0601" || len(attrs.Children) != 1 {
			t.Fatalf("%s %+v", n.XMLName.Local, n)
		}
		a := attrs.Children[0]
		if a.XMLName.Local != "attribute" || a.text("code") != "plate" || a.text("datatype") != "string" || a.text("required") != "false" ||
			!slices.Equal(a.names(), []string{"variable", "code", "datatype", "required", "datatype_description", "order", "description"}) {
			t.Fatalf("attribute %v %+v", a.names(), a)
		}
		n = e.get(t, "/open311/v2/services/0305.xml").xmlDoc(t)
		attrs, _ = n.child("attributes")
		values, _ := attrs.Children[0].child("values")
		if !slices.Equal(values.names(), []string{"value", "value"}) || values.Children[1].text("key") != "no" {
			t.Fatalf("values %+v", values)
		}
	})
	bothFormats(t, func(t *testing.T, f string) {
		e.get(t, "/open311/v2/services/9999."+f).specError(t, f, http.StatusNotFound, "service_code 9999 was not found")
		e.get(t, "/open311/v2/services/%3Cb%3E."+f).specError(t, f, http.StatusNotFound, "was not found")
	})

	t.Run("jurisdiction_id", func(t *testing.T) {
		for _, j := range []string{"", "zhejiang.gov.cn", "ZheJiang.gov.cn", "33", "%20"} {
			if a := e.get(t, "/open311/v2/services.json?jurisdiction_id="+j); a.status != 200 {
				t.Errorf("jurisdiction_id=%q: %d %s", j, a.status, a.body)
			}
		}
		bothFormats(t, func(t *testing.T, f string) {
			for _, p := range []string{"services." + f, "services/0101." + f, "requests." + f, "requests/261128395988131." + f,
				"tokens/261128395988131." + f, "servicerequestupdates." + f} {
				e.get(t, "/open311/v2/"+p+"?jurisdiction_id=sfgov.org").specError(t, f, http.StatusNotFound, "jurisdiction_id sfgov.org was not found")
			}
			e.post(t, "/open311/v2/requests."+f, e.form("jurisdiction_id", "44")).
				specError(t, f, http.StatusNotFound, "jurisdiction_id 44 was not found")
		})
	})

	t.Run("formats and methods", func(t *testing.T) {
		e.get(t, "/open311/v2/services.html").specError(t, "xml", http.StatusNotFound, "use .xml or .json")
		e.get(t, "/open311/v2/services").specError(t, "xml", http.StatusNotFound, "use .xml or .json")
		e.get(t, "/open311/v2/nothing.json").specError(t, "json", http.StatusNotFound, "not found")
		e.get(t, "/open311/v2/services/0101/more.json").specError(t, "json", http.StatusNotFound, "not found")
		a := e.post(t, "/open311/v2/services.json", e.form())
		a.specError(t, "json", http.StatusMethodNotAllowed, "not allowed")
		if a.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("Allow %q", a.header.Get("Allow"))
		}
		req, _ := http.NewRequest("DELETE", e.s.URL+"/open311/v2/requests.xml", nil)
		a = do(t, req)
		a.specError(t, "xml", http.StatusMethodNotAllowed, "not allowed")
		if a.header.Get("Allow") != "GET, HEAD, POST" {
			t.Errorf("Allow %q", a.header.Get("Allow"))
		}
	})
}
