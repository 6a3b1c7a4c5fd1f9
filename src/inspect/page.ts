/**
 * The page the local inspector server hands to the browser: Stately's inspector UI in an
 * iframe, fed by this page from the local WebSocket. The UI itself is loaded from Stately's
 * site; the session data only travels from the local server to this page, which posts it to
 * the iframe inside the browser.
 */

/** The Stately inspector UI the page embeds. */
export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';

/** The message the inspector UI posts once it listens (then buffered events are posted). */
const CONNECTED = '@statelyai.connected';

/** The HTML of the bridge page; the WebSocket URL is derived from the page's own address. */
export function bridgePage(inspectorUrl: string): string {
  const src = JSON.stringify(inspectorUrl);
  return `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>session-lifecycle inspector</title>
  <style>html, body, iframe { margin: 0; width: 100%; height: 100%; border: 0; }</style>
</head>
<body>
  <iframe id="inspector"></iframe>
  <script>
    const iframe = document.getElementById('inspector');
    iframe.src = ${src};
    const waiting = [];
    let listening = false;
    window.addEventListener('message', (message) => {
      if (!message.data || message.data.type !== ${JSON.stringify(CONNECTED)}) return;
      listening = true;
      for (const event of waiting.splice(0)) iframe.contentWindow.postMessage(event, '*');
    });
    const socket = new WebSocket('ws://' + location.host);
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (listening) iframe.contentWindow.postMessage(event, '*');
      else waiting.push(event);
    };
  </script>
</body>
</html>
`;
}
