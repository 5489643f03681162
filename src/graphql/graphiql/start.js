// Starts GraphiQL in the browser with the options its page carries. A file of
// its own, served from our origin, so that the page's Content-Security-Policy
// can forbid every inline script.
(function () {
  var base = document.currentScript.src.replace(/[^/]*$/, '');
  var workers = {
    editorWorkerService: base + 'editor.worker.js',
    json: base + 'json.worker.js',
    graphql: base + 'graphql.worker.js',
  };
  // Monaco (GraphiQL's editor) asks where its workers are: here, not a CDN.
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: function (_moduleId, label) {
      return workers[label];
    },
  };
  var options = JSON.parse(document.getElementById('graphiql-options').textContent);
  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), options);
})();
