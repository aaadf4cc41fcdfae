// Starts Swagger UI (served from /api/v1/docs/vendor, no CDN) on the element that names the OpenAPI document.
// Kept in a file because the CSP allows scripts from this site only (no inline script).
(function () {
  "use strict";
  var element = document.getElementById("swagger-ui");
  if (!element || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.ui = window.SwaggerUIBundle({
    url: element.getAttribute("data-spec-url"),
    domNode: element,
    deepLinking: true,
    tryItOutEnabled: false,
    persistAuthorization: false,
    displayRequestDuration: true,
    validatorUrl: null, // never call the public validator service
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
})();
