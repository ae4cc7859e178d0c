/**
 * The dashboard's one stylesheet, inline (the CSP allows inline styles and
 * nothing else). Colours keep text at 4.5:1 and bars at 3:1 against white;
 * "missing" is striped so it differs from "different" without colour.
 */
export const STYLES = `
:root{--text:#1a1a1a;--muted:#555;--line:#d0d0d0;--bg:#fff;--panel:#f6f7f9;--link:#1f5fa8;
--matching:#1a7f5a;--different:#b25e00;--missing:#c4293b;--extra:#2b5cab;--focus:#ffbf47}
*{box-sizing:border-box}
code,td,a{unicode-bidi:isolate}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--text);background:var(--bg)}
a{color:var(--link)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid var(--focus);outline-offset:2px;box-shadow:0 0 0 5px var(--text)}
.skip{position:absolute;left:-999px;top:0;background:var(--text);color:#fff;padding:.5rem 1rem;z-index:2}
.skip:focus{left:0}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
header.top{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;justify-content:space-between;padding:.75rem 1rem;border-bottom:1px solid var(--line);background:var(--panel)}
.brand{font-weight:700;text-decoration:none;color:var(--text)}
.who{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;color:var(--muted)}
.who strong{color:var(--text)}
main{max-width:72rem;margin:0 auto;padding:1rem}
footer{max-width:72rem;margin:2rem auto 1rem;padding:0 1rem;color:var(--muted);font-size:.9rem}
h1{font-size:1.6rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.25rem;margin:2rem 0 .75rem}
button,.button{font:inherit;padding:.45rem 1rem;border-radius:6px;border:1px solid #1a4f8a;background:#1f5fa8;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#fff;color:var(--link);border-color:var(--link)}
input,select{font:inherit;padding:.4rem .5rem;border:1px solid #767676;border-radius:6px;background:#fff;color:var(--text);max-width:100%}
label{font-weight:600}
.card{max-width:26rem;padding:1.25rem;border:1px solid var(--line);border-radius:10px;background:var(--panel)}
.field{display:flex;flex-direction:column;gap:.25rem;margin-bottom:1rem}
.hint{font-weight:400;color:var(--muted);font-size:.9rem}
.notice{padding:.75rem 1rem;border-radius:8px;border:1px solid;margin:0 0 1rem;max-width:48rem}
.notice.error{background:#fdecec;border-color:#c4293b;color:#7a1320}
.notice.info{background:#eaf2fb;border-color:#1f5fa8;color:#123a66}
.filters{display:flex;flex-wrap:wrap;gap:.75rem 1rem;align-items:flex-end;margin:0 0 1rem;padding:.75rem;border:1px solid var(--line);border-radius:10px;background:var(--panel)}
.filters .field{margin:0}
.counts-line{display:flex;flex-wrap:wrap;gap:.5rem;margin:0 0 1rem;padding:0;list-style:none}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{padding:.5rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--panel);white-space:nowrap}
th a{color:var(--text)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.name{overflow-wrap:anywhere;min-width:10rem}
.badge{display:inline-block;padding:.05rem .55rem;border-radius:999px;font-size:.85rem;font-weight:600;border:1px solid;white-space:nowrap;text-decoration:none}
.badge.consistent{background:#e3f3ea;color:#0f5132;border-color:#1a7f5a}
.badge.inconsistent{background:#fdecec;color:#7a1320;border-color:#c4293b}
.badge.never{background:#f0f0f0;color:#3d3d3d;border-color:#8a8a8a}
.badge.no-result{background:#fff4e0;color:#6b3b00;border-color:#b25e00}
.badge.current{box-shadow:0 0 0 2px var(--text)}
.muted{color:var(--muted)}
.pager{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:1rem 0}
.filters{display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:1rem 0}
.filters a[aria-current]{font-weight:700;color:var(--text);text-decoration:none}
.downloads{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
table.findings td code{overflow-wrap:anywhere}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}
.facts dt{font-weight:600}.facts dd{margin:0;overflow-wrap:anywhere}
.legend{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;list-style:none;padding:0;margin:0 0 1rem}
.legend li{display:flex;align-items:center;gap:.4rem}
.swatch{display:inline-block;width:1rem;height:1rem;border-radius:3px;border:1px solid var(--text)}
.dirs{list-style:none;padding:0;margin:0;display:grid;gap:1rem}
.dir{padding:.75rem;border:1px solid var(--line);border-radius:10px}
.dir h3{font-size:1rem;margin:0 0 .5rem;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.dir h3 code{overflow-wrap:anywhere}
.bar{display:flex;height:1.5rem;border:1px solid var(--text);border-radius:4px;overflow:hidden;background:#fff}
.seg{display:block;height:100%;min-width:3px}
.matching{background:var(--matching)}
.different{background:var(--different)}
.missing{background:repeating-linear-gradient(135deg,var(--missing) 0 6px,#7e1422 6px 9px)}
.extra{background:var(--extra)}
.dir-counts{display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;margin:.5rem 0 0;padding:0;list-style:none;font-variant-numeric:tabular-nums}
.when{margin:.35rem 0 0;font-size:.9rem;color:var(--muted)}
.chart{width:100%;max-width:48rem;height:auto;border:1px solid var(--line);border-radius:8px;background:#fff}
.chart text{font:11px system-ui,sans-serif;fill:var(--muted)}
.chart .different{fill:var(--different)}.chart .missing{fill:url(#missing-stripes)}.chart .extra{fill:var(--extra)}
.chart .ok{fill:var(--matching)}
details{margin-top:1rem}summary{cursor:pointer;font-weight:600}
@media (max-width:44rem){
  main{padding:.75rem}
  table.tasks thead{position:absolute;left:-999px}
  table.tasks,table.tasks tbody,table.tasks tr,table.tasks td{display:block;width:100%}
  table.tasks tr{border:1px solid var(--line);border-radius:10px;margin-bottom:.75rem;padding:.25rem .5rem}
  table.tasks td{border:0;padding:.2rem 0;display:flex;justify-content:space-between;gap:1rem;text-align:right}
  table.tasks td::before{content:attr(data-label);font-weight:600;text-align:left;color:var(--muted)}
  table.tasks td.name{text-align:left;display:block}
  table.tasks td.name::before{content:none}
  .facts{grid-template-columns:1fr}
}
`;
