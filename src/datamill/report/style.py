"""The build report's stylesheet, inlined into ``index.html`` (system fonts, no external resources)."""

CSS = """
:root { --blue:#2563eb; --blue-l:#dbeafe; --orange:#f59e0b; --red:#dc2626; --green:#16a34a; --ink:#111827;
        --dim:#6b7280; --line:#e5e7eb; --bg:#f9fafb; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",sans-serif;
       color:var(--ink); background:var(--bg); }
header { background:#111827; color:#fff; padding:16px 28px; }
header h1 { margin:0; font-size:20px; } header .sub { color:#9ca3af; font-size:13px; }
nav { position:sticky; top:0; z-index:5; background:#fff; border-bottom:1px solid var(--line); padding:6px 28px;
      font-size:13px; }
nav a { margin-right:14px; color:var(--blue); text-decoration:none; }
main { max-width:1240px; margin:0 auto; padding:12px 28px 60px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:14px 18px; margin:16px 0; }
h2 { margin:0 0 10px; font-size:17px; } h3 { font-size:14px; margin:14px 0 6px; }
.glance { display:flex; gap:12px; flex-wrap:wrap; margin:14px 0; }
.kpi { flex:1 1 150px; background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 14px; }
.kpi .v { font-size:24px; font-weight:650; } .kpi .l { color:var(--dim); font-size:12px; text-transform:uppercase; }
.kpi.ok .v { color:var(--green); } .kpi.bad .v { color:var(--red); } .kpi.warn .v { color:var(--orange); }
.dim { color:var(--dim); } .num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
table.grid { border-collapse:collapse; margin:6px 0; font-size:13px; }
table.grid th, table.grid td { border-bottom:1px solid var(--line); padding:4px 10px; text-align:left;
  vertical-align:top; }
table.grid th { background:#f3f4f6; font-weight:600; }
table.bars { border-collapse:collapse; width:100%; font-size:13px; }
table.bars th { text-align:left; font-weight:500; width:22%; max-width:260px; overflow:hidden; text-overflow:ellipsis;
                white-space:nowrap; padding:2px 8px 2px 0; }
table.bars td { padding:2px 6px; } table.bars td.bar { width:60%; }
table.bars td.bar span { display:inline-block; height:14px; background:var(--blue); border-radius:2px;
                         vertical-align:middle; }
table.bars.stacked td.bar span { border-radius:0; }
table.bars.stacked td.bar span.kept { background:var(--blue); }
table.bars.stacked td.bar span.dropped { background:var(--orange); }
table.bars.stacked td.bar span.quarantined { background:var(--red); }
table.bars.stacked td.bar span.generated { background:var(--green); }
table.bars td.legend { font-size:12px; color:var(--dim); white-space:nowrap; }
.cols { display:flex; flex-wrap:wrap; gap:18px; } .cols > div { flex:1 1 480px; min-width:0; }
svg.hist .binbar { fill:var(--blue); } svg.hist .binbar:hover { fill:#1e40af; }
svg.hist .axis { stroke:#9ca3af; } svg.hist .tick { font-size:10px; fill:var(--dim); }
svg.hist .marker { stroke:var(--red); stroke-width:2; stroke-dasharray:4 3; }
svg.hist .markerlabel { font-size:11px; fill:var(--red); font-weight:600; }
details { margin:4px 0; } summary { cursor:pointer; color:#1f2937; }
.card { border:1px solid var(--line); border-radius:6px; padding:8px 10px; margin:8px 0; background:#fff; }
.cardhead { margin-bottom:6px; } .cardhead code { font-size:12px; margin-right:8px; }
.pill { display:inline-block; font-size:11px; padding:0 7px; border-radius:9px; background:#eef2ff; color:#3730a3;
        margin-right:4px; } .pill.tag { background:#fef3c7; color:#92400e; }
.pill.score { background:#dcfce7; color:#166534; }
.turn { border-left:3px solid #d1d5db; padding:2px 8px; margin:4px 0; }
.turn.user { border-color:#60a5fa; } .turn.assistant { border-color:#34d399; } .turn.system { border-color:#a78bfa; }
.turn .role { font-size:11px; color:var(--dim); text-transform:uppercase; }
pre { white-space:pre-wrap; word-break:break-word; margin:2px 0; font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,
      Consolas,"Noto Sans Mono CJK SC",monospace; max-height:320px; overflow:auto; }
.think { background:#f5f3ff; padding:2px 6px; margin:2px 0; }
table.kv { border-collapse:collapse; width:100%; font-size:13px; } table.kv th { text-align:left; width:110px;
  vertical-align:top; padding:3px 8px 3px 0; color:var(--dim); } table.kv td { padding:3px 0; white-space:pre-wrap;
  word-break:break-word; }
del { background:#fee2e2; color:#991b1b; text-decoration:line-through; } ins { background:#dcfce7; color:#166534;
  text-decoration:none; }
.members { display:grid; grid-template-columns:repeat(auto-fill,minmax(260px,1fr)); gap:8px; }
.member { border:1px solid var(--line); border-radius:6px; padding:6px 8px; font-size:12px; }
.member.kept { border-color:var(--green); background:#f0fdf4; } .member .sim { float:right; font-weight:600; }
.reason { display:inline-block; background:#fff7ed; color:#9a3412; border-radius:4px; padding:0 6px; font-size:12px;
          margin:0 4px 2px 0; }
.note { background:#fffbeb; border:1px solid #fde68a; padding:6px 10px; border-radius:6px; margin:6px 0; }
footer { color:var(--dim); font-size:12px; text-align:center; padding:20px; }
"""
