// Main service of the edge runtime until functions are deployed: it answers every request with
// 404. Deploy functions by replacing the `functions-main` ConfigMap (or mounting your own main
// service that routes to user workers) and rolling the functions Deployment.
Deno.serve(() =>
  new Response(JSON.stringify({ msg: "no functions are deployed" }), {
    status: 404,
    headers: { "content-type": "application/json" },
  })
);
