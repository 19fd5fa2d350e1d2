package graphsim

import (
	"net/http"
	"net/url"
	"strings"
)

// Admin consent, as the Holdfast connect flow drives it:
//
//	GET /{tenant}/adminconsent?client_id&redirect_uri&state                (v1)
//	GET /{tenant}/v2.0/adminconsent?client_id&scope&redirect_uri&state     (v2)
//
// The real endpoint shows a sign-in and consent page; the simulator decides at once (the
// --consent flag) and redirects: approval adds admin_consent=True&tenant=<tid>[&scope]&state,
// refusal error=access_denied&error_subcode=cancel&error_description=AADSTS65004…&state.
// Approving grants the app its roles; tokens issued from then on carry them (tokens already
// issued keep the roles they had, as in Entra).

func (s *Server) serveAdminConsent(w http.ResponseWriter, r *http.Request, tenant string) {
	q := r.URL.Query()
	bad := func(aadsts int, desc string) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", aadsts, desc, s.now())
	}
	if !s.knownTenant(tenant, true) {
		bad(90002, "Tenant '"+tenant+"' not found.")
		return
	}
	if !strings.EqualFold(q.Get("client_id"), s.app.clientID) {
		bad(700016, "Application with identifier '"+q.Get("client_id")+"' was not found in the directory '"+s.t.domain+"'.")
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Host == "" || (redirect.Scheme != "http" && redirect.Scheme != "https") {
		bad(50011, "The redirect URI '"+q.Get("redirect_uri")+"' specified in the request does not match the redirect URIs configured for the application '"+s.app.clientID+"'.")
		return
	}
	v2 := strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/v2.0/adminconsent")

	s.app.mu.Lock()
	approve := s.app.consentYes
	if approve {
		s.app.consented = true
		s.app.roles = append([]string(nil), s.app.grant...)
	}
	s.app.mu.Unlock()

	out := redirect.Query()
	if approve {
		out.Set("admin_consent", "True")
		out.Set("tenant", s.t.tenantID)
		if v2 {
			sc := q.Get("scope")
			if sc == "" {
				sc = graphDefaultScope
			}
			out.Set("scope", sc)
		}
	} else {
		out.Set("error", "access_denied")
		out.Set("error_subcode", "cancel")
		out.Set("error_description", "AADSTS65004: User declined to consent to access the app.")
	}
	if st := q.Get("state"); st != "" {
		out.Set("state", st)
	}
	redirect.RawQuery = out.Encode()
	s.log.Info("graphsim admin consent", "approved", approve)
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}
