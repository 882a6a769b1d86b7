/* global RED, $ */
/**
 * The campus nodes' editor side, shared by their templates (served by Node-RED from this module's resources/):
 * the access point, camera and zone drop-downs filled from the gateway (GET campus/<list>, lib/places.js), and the
 * validation that puts the red triangle on a node set to an id the gateway does not know (and on a hold that is no
 * number of seconds: campus sensor and campus threshold).
 * Until the lists have arrived, or in a plain Node-RED without the gateway, nothing is flagged and the fields stay
 * free text.
 */
(function () {
  'use strict';
  if (window.CampusEditor) return; // each node's template includes this file; the first copy serves them all
  var COMMON = 'node-red-contrib-campus/campus-tap:common.';
  var PATHS = { accessPoints: 'campus/access-points', cameras: 'campus/cameras', zones: 'campus/zones' };
  /** list name → array of {id, name, …}, once the gateway has answered. */
  var lists = {};

  function ids(list, field) {
    return (lists[list] || []).map(function (p) { return p[field || 'id']; }).filter(Boolean);
  }

  /** `gates`: a gate node takes an access point with a gate, or a gate id itself. */
  function known(list, value, gates) {
    if (gates) return ids('accessPoints').concat(ids('accessPoints', 'gateId')).indexOf(value) >= 0;
    return ids(list).indexOf(value) >= 0;
  }

  function choices(list, gates) {
    var all = lists[list] || [];
    return gates ? all.filter(function (p) { return p.gateId; }) : all;
  }

  function load(list) {
    return $.getJSON(PATHS[list]).then(function (items) {
      lists[list] = Array.isArray(items) ? items : [];
      return lists[list];
    });
  }

  /** After the lists arrive, every campus node on the canvas is checked again (the red triangle). */
  function revalidate() {
    RED.nodes.eachNode(function (n) {
      if (n.type.indexOf('campus ') === 0) RED.editor.validateNode(n);
    });
    RED.view.redraw(true);
  }

  window.CampusEditor = {
    /**
     * A `validate` for a number of seconds ≥ 0 (the levels' hold): empty (the node's default), a number, or a tab
     * variable `${NAME}`, which Node-RED fills in when the flow starts (the node flags a bad one then).
     */
    seconds: function (v) {
      var text = v === undefined || v === null ? '' : String(v).trim();
      return text === '' || /^\$\{[^}]+\}$/.test(text) || /^(\d+\.?\d*|\.\d+)$/.test(text);
    },
    /** A `validate` for a place field: empty (all / from msg) or an id the gateway knows. */
    validator: function (list, gates) {
      return function (v) {
        if (!v || !lists[list]) return true;
        return known(list, v, gates);
      };
    },
    /**
     * Turns the field's select into the gateway's list: `empty` labels the '' choice; a saved id the gateway does
     * not know stays selected, marked. If the list cannot be had, the select becomes a text field.
     */
    fill: function (field, list, value, empty, gates) {
      var $select = $('#node-input-' + field);
      value = value || '';
      // The saved value is a choice at once: a dialog saved before the list arrives keeps it.
      $select.empty().append($('<option>').val('').text(empty));
      if (value) $select.append($('<option>').val(value).text(value));
      $select.val(value);
      load(list).then(
        function () {
          value = $select.val() || '';
          $select.empty().append($('<option>').val('').text(empty));
          choices(list, gates).forEach(function (p) {
            $select.append($('<option>').val(p.id).text(p.name === p.id ? p.id : p.name + ' (' + p.id + ')'));
          });
          if (value && !known(list, value, gates)) {
            $select.append($('<option>').val(value).text(RED._(COMMON + 'places.unknown', { id: value })).addClass('input-error'));
            $select.addClass('input-error');
          }
          $select.val(value);
          $select.on('change', function () { $select.toggleClass('input-error', !!$select.val() && !known(list, $select.val(), gates)); });
        },
        function () {
          value = $select.val() || '';
          $select.replaceWith($('<input type="text">').attr('id', 'node-input-' + field).attr('placeholder', empty).val(value));
        },
      );
    },
  };

  // The editor loads node templates after login, so these calls carry its token. Flows imported after the lists
  // arrive are validated against them; nodes already on the canvas are checked again. A plain Node-RED answers 503.
  $.when(load('accessPoints'), load('cameras'), load('zones')).then(revalidate, function () {});
})();
