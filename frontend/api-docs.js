// The interactive API documentation at /api/v1/docs: Swagger UI from npm, bundled at set-up,
// reading petiflow's own OpenAPI document. Changes made with the session cookie carry the
// session's CSRF token, fetched from /api/v1/session, as the API requires.
import SwaggerUIBundle from "swagger-ui-dist/swagger-ui-bundle.js";
import "swagger-ui-dist/swagger-ui.css";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
let csrfToken = null;

async function refreshCsrf() {
  const answer = await fetch("/api/v1/session", { credentials: "same-origin" });
  csrfToken = answer.ok ? (await answer.json()).csrf_token : null;
}

window.addEventListener("DOMContentLoaded", () => {
  refreshCsrf();
  SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    requestInterceptor: (request) => {
      if (csrfToken && !SAFE.has((request.method || "GET").toUpperCase())) {
        request.headers["X-CSRF-Token"] = csrfToken;
      }
      return request;
    },
    responseInterceptor: (response) => {
      if (response.url && response.url.endsWith("/api/v1/session")) {
        refreshCsrf();
      }
      return response;
    },
  });
});
