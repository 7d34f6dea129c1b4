package console

import "net/http"

// agentRoutes: the hotline agents' console (filled by the console pages' work).
func (p *Pages) agentRoutes(mux *http.ServeMux) {}
