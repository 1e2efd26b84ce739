// chestx pages: the two ways a page talks to its server, shared by the viewer and annotate.
"use strict";

window.chestxHttp = {
  // The server's readable refusal ({"detail": ...}), else the HTTP status line.
  async errorText(response) {
    try {
      const body = await response.json();
      if (typeof body.detail === "string") return body.detail;
      return JSON.stringify(body.detail || body);
    } catch (_) {
      return `${response.status} ${response.statusText}`;
    }
  },

  // GET a JSON document; a refusal becomes an Error with the server's words.
  async getJSON(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(await window.chestxHttp.errorText(response));
    return response.json();
  },
};
