// Render the ```mermaid blocks (docs/architecture.md) once the page has loaded.
mermaid.initialize({ startOnLoad: true });
