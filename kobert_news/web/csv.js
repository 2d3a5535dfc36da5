// The CSV that /predict/csv answers (main.py's output), read back for the page's table (app.js).
'use strict';

// RFC 4180 CSV (quoted fields, doubled quotes, line breaks inside quotes) -> array of row objects.
window.parseCsv = function (text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  text = text.replace(/^\ufeff/, '');
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  const header = rows.shift() || [];
  return rows.filter((r) => r.length > 1 || r[0])
    .map((r) => Object.fromEntries(header.map((h, j) => [h, r[j] || ''])));
};
