// Starts Swagger UI on the API docs page. A file of its own, not an inline script, so the page
// runs under the site's Content-Security-Policy (script-src 'self').
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-document"),
    domNode: root,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
  });
})();
