// Starts GraphiQL from the files served beside this one: nothing is fetched from anywhere else.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("spendlimits-graphiql-config").textContent);
  var placeholder = config.authorizationPlaceholder;
  var endpoint = window.location.href.split(/[?#]/)[0];
  // Subscriptions go over graphql-transport-ws on the same path (GraphiQL bundles graphql-ws); the
  // headers below become the connection_init payload, which is where the server reads the token.
  var post = GraphiQL.createFetcher({ url: endpoint, subscriptionUrl: endpoint.replace(/^http/, "ws") });

  // Each tab has its own headers editor. A token pasted into one tab is remembered (in memory
  // only) and used by tabs that still show the placeholder, so a newcomer pastes it once.
  var rememberedAuthorization = null;

  function authorization(headers) {
    var value = headers && headers.Authorization;
    if (value && value.indexOf(placeholder) === -1) {
      rememberedAuthorization = value;
      return value;
    }
    return rememberedAuthorization;
  }

  function fetcher(params, options) {
    var headers = Object.assign({}, options && options.headers);
    var value = authorization(headers);
    if (!value) {
      // Answered here rather than by the server's 401, to say what to do.
      return Promise.resolve({
        errors: [{ message: config.missingTokenMessage, extensions: { code: "UNAUTHENTICATED" } }],
      });
    }
    headers.Authorization = value;
    return post(params, Object.assign({}, options, { headers: headers }));
  }

  // GraphiQL loads the schema once, at start, when no token has been pasted yet: load it again
  // as soon as the headers hold one, so the docs and autocompletion appear without a reload.
  function LoadSchemaWhenTokenArrives() {
    var editors = GraphiQL.React.useEditorContext();
    var schemaContext = GraphiQL.React.useSchemaContext();
    var headerEditor = editors.headerEditor;
    var needsSchema = !schemaContext.schema && !schemaContext.isFetching;
    var introspect = schemaContext.introspect;
    React.useEffect(
      function () {
        if (!headerEditor || !needsSchema) {
          return undefined;
        }
        var timer = null;
        function onChange() {
          window.clearTimeout(timer);
          timer = window.setTimeout(function () {
            var headers;
            try {
              headers = JSON.parse(headerEditor.getValue() || "{}");
            } catch (notJsonYet) {
              return;
            }
            if (authorization(headers)) {
              introspect();
            }
          }, 400);
        }
        headerEditor.on("change", onChange);
        return function () {
          window.clearTimeout(timer);
          headerEditor.off("change", onChange);
        };
      },
      [headerEditor, needsSchema, introspect],
    );
    return null;
  }

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(
      GraphiQL,
      {
        fetcher: fetcher,
        defaultTabs: config.tabs,
        defaultHeaders: config.headers,
        defaultEditorToolsVisibility: "headers",
        isHeadersEditorEnabled: true,
        // Tabs (and the pasted token) last while this browser tab is open, not on disk for good.
        storage: window.sessionStorage,
        shouldPersistHeaders: true,
      },
      React.createElement(GraphiQL.Footer, null, React.createElement(LoadSchemaWhenTokenArrives)),
    ),
  );
})();
