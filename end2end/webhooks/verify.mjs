// Verifies webhook deliveries with the `standardwebhooks` package (the Standard Webhooks
// reference library), not with Patchbay's code. Reads `[{secret, headers, body}]` as JSON on
// stdin and prints, for each, `true` or the library's error message.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map(({ secret, headers, body }) => {
  try {
    new Webhook(secret).verify(body, headers);
    return true;
  } catch (e) {
    return String(e && e.message ? e.message : e);
  }
});
process.stdout.write(JSON.stringify(results));
