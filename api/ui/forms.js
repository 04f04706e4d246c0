// Config forms: parse the pasted JSON, run PUT /connector-plugins/{class}/config/validate and
// show its errors with the offending keys named and highlighted, then do the action.
'use strict';

const SluiceForms = (() => {
  // {name, config} from what was pasted: {"name", "config": {...}} or a flat config.
  function parse(text, fallbackName) {
    let body;
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw new Error('the config is not valid JSON: ' + e.message);
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new Error('the config must be a JSON object');
    }
    if (body.config && typeof body.config === 'object') {
      return { name: body.name || fallbackName || '', config: body.config };
    }
    const config = Object.assign({}, body);
    const name = config.name || fallbackName || '';
    return { name, config };
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // Selects `key` in the textarea so that the user sees where it is.
  function highlightKey(textarea, key) {
    const at = textarea.value.indexOf('"' + key + '"');
    if (at < 0) return;
    textarea.focus();
    textarea.setSelectionRange(at, at + key.length + 2);
  }

  // Shows validation errors: one line per key, the key highlighted.
  function showErrors(result, textarea, errors) {
    result.replaceChildren();
    const title = el('p', 'error', errors.length + ' problem' + (errors.length > 1 ? 's' : '') +
                     ' in the config:');
    const list = el('ul');
    for (const { key, message } of errors) {
      const li = el('li', 'error');
      const k = el('code', 'bad-key', key);
      k.dataset.key = key;
      li.append(k, document.createTextNode(': ' + message));
      list.append(li);
    }
    result.append(title, list);
    if (errors.length) highlightKey(textarea, errors[0].key);
  }

  function showMessage(result, text, ok) {
    result.replaceChildren(el('p', ok ? 'ok' : 'error', text));
  }

  // Validates with the server; returns [] when the config is valid, else [{key, message}].
  async function validate(api, name, config) {
    const cls = config['connector.class'];
    if (!cls) return [{ key: 'connector.class', message: 'missing: name the source plugin' }];
    const body = Object.assign({}, config);
    if (name) body.name = name;
    const r = await api('PUT', '/connector-plugins/' + encodeURIComponent(cls) +
                        '/config/validate', body);
    const errors = [];
    for (const c of r.configs || []) {
      for (const m of c.value.errors || []) errors.push({ key: c.value.name, message: m });
    }
    return errors;
  }

  // The config key an error message of the API names ("config key 'x' …", "'x' must …").
  function keyInMessage(message, config) {
    for (const key of Object.keys(config).sort((a, b) => b.length - a.length)) {
      if (message.includes("'" + key + "'") || message.includes(key + ':') ||
          message.includes(key + ' ')) return key;
    }
    return null;
  }

  // Wires a form: on submit parse, validate with the server (unless `validateFirst` is false),
  // then `action(name, config)` (async, returns a message). Errors from any step are shown
  // under the form, with the offending key named when the API's message names one.
  function wire(form, textarea, result, api, action, fallbackName, validateFirst = true) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      showMessage(result, 'validating…', true);
      let parsed = null;
      try {
        parsed = parse(textarea.value, fallbackName && fallbackName());
        if (validateFirst) {
          const errors = await validate(api, parsed.name, parsed.config);
          if (errors.length) {
            showErrors(result, textarea, errors);
            return;
          }
        }
        showMessage(result, await action(parsed.name, parsed.config), true);
      } catch (e) {
        const key = parsed && keyInMessage(e.message, parsed.config);
        if (key) showErrors(result, textarea, [{ key, message: e.message }]);
        else showMessage(result, e.message, false);
      }
    });
  }

  return { wire, parse };
})();
window.SluiceForms = SluiceForms;
