"""The stylesheet every HTML report of aifactory inlines."""

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#222;
margin:0;background:#f4f5f7;line-height:1.45}
main{max-width:1240px;margin:0 auto;padding:24px 32px 48px;background:#fff}
header{border-bottom:3px solid #1f5fa8;padding-bottom:12px;margin-bottom:8px}
h1{margin:0 0 4px;font-size:28px}h2{margin:36px 0 8px;font-size:21px;border-bottom:1px solid #ddd;
padding-bottom:4px}h3{margin:20px 0 4px;font-size:16px}
.desc{color:#444;margin:4px 0 8px}.meta{color:#666;font-size:13px}
.headline{background:#eef4fb;border-left:4px solid #1f5fa8;padding:10px 14px;margin:14px 0;font-size:15px}
.note{color:#666;font-size:13px;margin:2px 0 8px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px;width:100%}
th,td{padding:5px 9px;border-bottom:1px solid #e3e3e3;text-align:right;vertical-align:top;white-space:nowrap}
td.l{white-space:normal}table.narrow{width:auto;min-width:50%}
th{background:#f0f2f5;font-weight:600}.l{text-align:left}tbody tr:nth-child(even){background:#fafbfc}
tr.good{background:#e3f4e7!important}tr.mid{background:#fdf3d6!important}tr.bad{background:#fbe0dc!important}
.chart{margin:4px 0 12px}footer{margin-top:40px;border-top:1px solid #ddd;padding-top:8px;font-size:13px}
footer td{font-size:12px}
"""
