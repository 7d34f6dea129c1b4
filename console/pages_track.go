package console

import "net/http"

// trackRoutes: the public tracking page (filled by the workbench's work).
func (p *Pages) trackRoutes(mux *http.ServeMux) {}
