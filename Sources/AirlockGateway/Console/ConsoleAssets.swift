/// The console's stylesheet and icon, served from the binary (no external fonts, scripts or
/// CDNs: the console works on an air-gapped host). Colours are classes, never `style`
/// attributes, so the Content-Security-Policy needs no 'unsafe-inline'.
enum ConsoleAssets {
    static let favicon = """
    <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f3a5f"/><path d="M9 15v-3a7 7 0 0 1 14 0v3" fill="none" stroke="#fff" stroke-width="3"/><rect x="7" y="15" width="18" height="12" rx="2" fill="#fff"/></svg>
    """

    static let css = """
    :root{--ink:#1d2430;--muted:#5d6878;--line:#dde2ea;--bg:#f5f7fa;--card:#fff;--brand:#1f3a5f;--accent:#2f6fb3;
    --ok:#2e8b57;--warn:#c98a12;--bad:#c0392b;--local:#6c4bb4;--grey:#8a94a3}
    *{box-sizing:border-box}
    body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--ink);background:var(--bg)}
    a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
    header.top{display:flex;align-items:center;gap:24px;background:var(--brand);color:#fff;padding:0 24px;height:52px}
    header.top .brand{font-weight:700;font-size:16px;color:#fff;letter-spacing:.3px}
    header.top nav{display:flex;gap:4px;flex:1}
    header.top nav a{color:#d6e2f0;padding:6px 10px;border-radius:6px}
    header.top nav a.on,header.top nav a:hover{background:rgba(255,255,255,.14);color:#fff;text-decoration:none}
    header.top .who{display:flex;align-items:center;gap:10px;color:#d6e2f0;font-size:13px}
    header.top .who form{margin:0}
    header.top .who button{background:transparent;border:1px solid rgba(255,255,255,.4);color:#fff;padding:4px 10px;border-radius:6px;cursor:pointer}
    main{padding:20px 24px 48px;max-width:1280px;margin:0 auto}
    h1{font-size:22px;margin:4px 0 14px}h2{font-size:16px;margin:0 0 10px}h3{font-size:14px;margin:14px 0 8px}
    .sub{color:var(--muted);margin:-8px 0 16px}
    .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:16px}
    .stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin-bottom:16px}
    .card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px;overflow:auto;margin-bottom:16px}.grid>.card{margin-bottom:0}.grid{margin-bottom:16px}
    .stat .v{font-size:22px;font-weight:650;overflow-wrap:anywhere}.grid.two{grid-template-columns:repeat(auto-fit,minmax(520px,1fr))}.stat .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.4px}
    table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
    th{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.3px;font-weight:600}
    tbody tr:nth-child(even){background:#fafbfd}
    td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
    code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
    pre{background:#f0f3f7;border:1px solid var(--line);border-radius:8px;padding:12px;white-space:pre-wrap;word-break:break-word}
    .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#e8edf3;color:var(--ink)}
    .badge.allowed,.badge.ok{background:#e2f3e9;color:#1f6b41}.badge.transformed,.badge.warn{background:#fbf0d9;color:#8a5d00}
    .badge.blocked,.badge.failed,.badge.bad{background:#f8e0dd;color:#962d22}.badge.admin{background:#e6e9f0;color:#44506a}
    .badge.local{background:#ece5f8;color:#4f3390}
    .filters{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-end;margin-bottom:14px}
    label{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:3px}
    input,select,textarea{font:inherit;padding:6px 8px;border:1px solid #c6cdd8;border-radius:6px;background:#fff;color:var(--ink)}
    textarea{width:100%;min-height:140px}
    textarea.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;min-height:320px}
    code.secret{display:inline-block;padding:6px 10px;border:1px dashed #c6cdd8;border-radius:6px;background:#fff;font-size:14px;user-select:all;word-break:break-all}
    ul.problems{margin:6px 0 0 18px;padding:0}
    button,.button{font:inherit;background:var(--accent);color:#fff;border:0;border-radius:6px;padding:7px 14px;cursor:pointer;display:inline-block}
    button.secondary,.button.secondary{background:#e8edf3;color:var(--ink)}button.danger{background:var(--bad)}
    .actions{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
    .notice{padding:10px 14px;border-radius:8px;margin-bottom:14px;background:#e8f1fb;border:1px solid #c3d8f0}
    .notice.bad{background:#fbe9e7;border-color:#f0c4bd}.notice.ok{background:#e5f4ea;border-color:#bfe0cb}
    .ranges a{padding:4px 10px;border:1px solid var(--line);border-radius:6px;background:#fff;margin-right:4px}
    .ranges a.on{background:var(--accent);color:#fff;border-color:var(--accent)}
    .diff .add{background:#e6f6ea}.diff .del{background:#fbe9e7}.diff td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;padding:1px 8px;border:0;white-space:pre-wrap}
    .diff td.ln{color:var(--muted);text-align:right;width:40px}
    .signin{max-width:420px;margin:80px auto}.signin .card{padding:28px}.signin input{width:100%}
    svg.chart{width:100%;height:auto;display:block}
    svg.chart text{font:11px system-ui,sans-serif;fill:var(--ink)}svg.chart text.muted{fill:var(--muted)}
    svg.chart .axis{stroke:var(--line)}
    .c0{fill:var(--ok)}.c1{fill:var(--warn)}.c2{fill:var(--bad)}.c3{fill:var(--grey)}.c4{fill:var(--local)}.c5{fill:var(--accent)}.c6{fill:#1a9aa0}.c7{fill:#b0578d}
    .legend{display:flex;gap:14px;flex-wrap:wrap;font-size:12px;color:var(--muted);margin-top:6px}
    .legend svg{width:10px;height:10px;vertical-align:-1px;margin-right:4px}
    dl.kv{display:grid;grid-template-columns:200px 1fr;gap:4px 12px;margin:0}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;word-break:break-all}
    .empty{color:var(--muted);font-style:italic}
    footer{color:var(--muted);font-size:12px;text-align:center;padding:16px}
    """
}
