/*
 * Shared editor code of the Era nodes (nodes/<type>.html).
 *
 * Node-RED serves this file at resources/@era-cti/node-red-era/era-editor.js. Every node's
 * .html loads it with a <script src> before its own script: the editor loads such a script
 * first and only then inserts the node's definitions, so window.EraEditor is there when
 * RED.nodes.registerType runs. All 14 files load it; the first copy defines it.
 */
(function () {
    "use strict";
    if (window.EraEditor) {
        return;
    }

    // TypedInput type lists.
    // A string from the message, context, environment or JSONata: a call id, a leg, a key.
    var CALL_TYPES = ["msg", "flow", "global", "str", "env", "jsonata"];
    // The same, and a number: a phone number, a conference, DTMF digits.
    var VALUE_TYPES = ["msg", "flow", "global", "str", "num", "env", "jsonata"];
    // Extra fields of a request: a JSON object.
    var EXTRA_TYPES = ["json", "msg", "flow", "global", "env", "jsonata"];

    // An event name or a pattern of one: callevents.dlg_start, callevents.*
    var EVENT_PATTERN = /^[A-Za-z0-9_*-]+\.[A-Za-z0-9_*-]+$/;

    // A node's message in the editor's language (the key itself where the node has no catalog).
    function text(node, key) {
        return (node && typeof node._ === "function") ? node._(key) : key;
    }

    // Left out of the flow: saved before the property existed, or written by hand.
    function absent(v) {
        return v === undefined || v === null;
    }

    // The node as the runtime reads it: a property left out of the flow has its default,
    // and so has the type of a TypedInput whose value is left out (the runtime's
    // evaluateField takes both defaults then). Properties overlaid here are the view's own.
    function asRun(node) {
        if (!node || !node._def) {
            return node;
        }
        var defaults = node._def.defaults;
        var view = Object.create(node);
        // Defined, not assigned: the editor's nodes are Proxies whose set trap would write
        // an assignment through to the node itself.
        function overlay(prop) {
            Object.defineProperty(view, prop, { value: defaults[prop].value, enumerable: true, configurable: true });
        }
        Object.keys(defaults).forEach(function (prop) {
            if (absent(node[prop]) && defaults[prop].value !== undefined) {
                overlay(prop);
                if (defaults.hasOwnProperty(prop + "Type")) {
                    overlay(prop + "Type");
                }
            }
        });
        return view;
    }

    // Makes every validator of the node type judge what the runtime will use: a property
    // left out of the flow is checked as its default, and so is an empty number field (the
    // runtime reads "" there as the default). Without it, a flow saved before a property
    // existed shows that property red, or the node invalid.
    function absentAsDefault(type) {
        var defaults = RED.nodes.getType(type).defaults;
        Object.keys(defaults).forEach(function (prop) {
            var validate = defaults[prop].validate;
            if (typeof validate !== "function") {
                return;
            }
            defaults[prop].validate = function (v, opt) {
                var fallback = defaults[prop].value;
                var useDefault = absent(v) || (v === "" && typeof fallback === "number");
                return validate.call(asRun(this), useDefault ? fallback : v, opt);
            };
        });
    }

    function blank(v) {
        return String(v === undefined ? "" : v).trim() === "";
    }

    // Something other than white space.
    function filled(v) {
        return String(v || "").trim() !== "";
    }

    // A number, or NaN for an empty field (which Number() would make 0).
    function number(v) {
        return v === undefined || v === null || v === "" ? NaN : Number(v);
    }

    // A property as this very node's open edit dialog shows it, else as stored. The dialog
    // is marked with its node's id (prepare), so another node's dialog open below it
    // does not count.
    function edited(node, prop, fallback) {
        var input = $("#node-input-" + prop + ", #node-config-input-" + prop).filter(function () {
            return $(this).closest("form").data("eraEditing") === node.id;
        });
        if (input.length) {
            return input.first().val();
        }
        var v = node[prop];
        return v === undefined || v === null || v === "" ? fallback : v;
    }

    // Validators. Each takes (v, opt), so that Node-RED shows the message it returns.

    // A choice field: one of the values, or empty (the runtime then takes the default).
    function oneOf(values) {
        return function (v, opt) {
            return v === "" || values.indexOf(v) !== -1;
        };
    }

    // A typed field that may be left empty.
    function optional(field) {
        return RED.validators.typedInput({ typeField: field + "Type", allowBlank: true });
    }

    // test(v) must hold; else the message at key.
    function check(test, key) {
        return function (v, opt) {
            return test(v) ? true : text(this, key);
        };
    }

    // Validate only while the property prop (as edited, fallback when absent) is one of values.
    function when(prop, values, fallback, validate) {
        return function (v, opt) {
            if (values.indexOf(edited(this, prop, fallback)) === -1) {
                return true;
            }
            return validate.call(this, v, opt);
        };
    }

    // A typed field: while its type is one of types, validate decides; any other type is
    // left to Node-RED's check of that type (an empty field allowed where allowBlank).
    function typedCheck(field, types, fallbackType, validate, allowBlank) {
        var typed = RED.validators.typedInput({ typeField: field + "Type", allowBlank: !!allowBlank });
        return function (v, opt) {
            if (types.indexOf(edited(this, field + "Type", fallbackType)) !== -1) {
                return validate.call(this, v, opt);
            }
            return typed.call(this, v, opt);
        };
    }

    // A typed field the modes listed need: there a fixed value (str, num, env) must not be
    // empty (message <type>.errors.<field>). The mode is the property "mode".
    function neededIn(type, field, modes, fallbackMode) {
        var typed = optional(field);
        return function (v, opt) {
            if (modes.indexOf(edited(this, "mode", fallbackMode)) !== -1 && blank(v)) {
                var fieldType = edited(this, field + "Type", "str");
                if (fieldType === "str" || fieldType === "num" || fieldType === "env") {
                    return text(this, type + ".errors." + field);
                }
            }
            return typed.call(this, v, opt);
        };
    }

    // Labels.

    function paletteLabel(type) {
        return function () {
            return this._(type + ".paletteLabel");
        };
    }

    // The node's name, else what other() gives.
    function named(other) {
        return function () {
            return this.name || other.call(this);
        };
    }

    // The node's name, else <type>.node.<value of prop> (fallback when absent), or without
    // prop the palette label.
    function label(type, prop, fallback) {
        return named(function () {
            return this._(prop ? type + ".node." + (this[prop] || fallback) : type + ".paletteLabel");
        });
    }

    function labelStyle() {
        return this.name ? "node_label_italic" : "";
    }

    // The edit dialog.
    //
    // prepare(node, {
    //     config: true,                      a config node (fields #node-config-input-*)
    //     typed: { field: TYPED, ... },      TypedInputs, type kept in <field>Type
    //     choice: "mode",                    a <select> (its default when the node has none)
    //     show: function (value) {},         shows the rows of the chosen value
    //     recheck: ["field", ...]            fields validated again when the choice changes
    // })
    function prepare(node, spec) {
        spec = spec || {};
        var prefix = spec.config ? "#node-config-input-" : "#node-input-";
        $(prefix + "name").closest("form").data("eraEditing", node.id);

        // A property left out of the flow shows the default the runtime uses (Node-RED
        // would show an empty field, an unticked box), so pressing Done keeps behaviour.
        var defaults = node._def.defaults;
        var run = asRun(node);
        Object.keys(defaults).forEach(function (prop) {
            var input = $(prefix + prop);
            if (!input.length) {
                return;
            }
            if (typeof defaults[prop].value === "number" && !defaults[prop].required && !input.attr("placeholder")) {
                input.attr("placeholder", defaults[prop].value); // an empty number field means it
            }
            if (input.attr("type") === "checkbox") {
                // A flow written by hand may hold the box's value as text.
                input.prop("checked", run[prop] === "false" ? false : !!run[prop]);
            } else if (run.hasOwnProperty(prop)) {
                input.val(run[prop]);
            }
        });

        var select = spec.choice ? $(prefix + spec.choice) : $();
        if (select.length && !select.val()) {
            select.val(defaults[spec.choice].value);
        }
        Object.keys(spec.typed || {}).forEach(function (field) {
            var t = spec.typed[field];
            $(prefix + field).typedInput({ default: t.default, types: t.types, typeField: prefix + field + "Type" });
        });

        if (spec.show || spec.recheck) {
            select.on("change", function () {
                if (spec.show) {
                    spec.show($(this).val());
                }
                (spec.recheck || []).forEach(function (field) {
                    $(prefix + field).trigger("change");
                });
                RED.tray.resize();
            }).trigger("change");
        }
    }

    window.EraEditor = Object.freeze({
        CALL_TYPES: CALL_TYPES,
        VALUE_TYPES: VALUE_TYPES,
        EXTRA_TYPES: EXTRA_TYPES,
        EVENT_PATTERN: EVENT_PATTERN,
        // The TypedInputs most nodes have.
        CALL: { default: "msg", types: CALL_TYPES },
        LEG: { default: "str", types: CALL_TYPES },
        EXTRA: { default: "json", types: EXTRA_TYPES },

        text: text,
        filled: filled,
        number: number,
        edited: edited,
        absentAsDefault: absentAsDefault,

        oneOf: oneOf,
        optional: optional,
        check: check,
        when: when,
        typedCheck: typedCheck,
        neededIn: neededIn,

        paletteLabel: paletteLabel,
        named: named,
        label: label,
        labelStyle: labelStyle,
        prepare: prepare
    });
})();
