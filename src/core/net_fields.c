/* The network's side of an encoding: predicting from a row of text fields
 * (syn_net_predict_fields) and the encoding a network carries with it.
 * The encoding itself (data/encoding.c) knows nothing of networks. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "data/encoding.h"

syn_status syn_net_predict_fields(const syn_net *net, syn_workspace *ws,
                                  const char *const *fields, size_t n_fields,
                                  const float **out, syn_error *err)
{
    if (!net || !ws || !fields) {
        syn_set_error(err, "invalid argument: NULL network, workspace or fields");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    if (!syn_workspace_fits(ws, net) || ws->max_batch < 1) {
        syn_set_error(err, "the workspace does not fit the network");
        return SYN_ERR_SHAPE;
    }
    /* The workspace's input row is the scratch for the encoded vector:
     * syn_forward scales it in place, element by element. */
    float *x = ws->input;
    const syn_encoding *enc = net->encoding;
    if (enc) {
        syn_status st = syn_encode_fields(enc, fields, n_fields, 0, x, NULL, err);
        if (st != SYN_OK)
            return st;
    } else {
        if (n_fields != net->n_inputs) {
            syn_set_error(err, "expected %zu fields (the network's inputs), found %zu",
                          net->n_inputs, n_fields);
            return SYN_ERR_INVALID_ARGUMENT;
        }
        char decimal_point = syn_locale_decimal_point();
        for (size_t i = 0; i < n_fields; i++) {
            const char *s = fields[i] ? fields[i] : "";
            if (syn_parse_number(s, strlen(s), decimal_point, &x[i]) != SYN_NUM_OK) {
                syn_set_error(err, "field %zu: expected a finite number, found \"%.40s\"",
                              i + 1, s);
                return SYN_ERR_PARSE;
            }
        }
    }
    return syn_forward(net, ws, x, 1, out);
}

const syn_encoding *syn_net_encoding(const syn_net *net)
{
    return net ? net->encoding : NULL;
}

syn_status syn_net_set_encoding(syn_net *net, const syn_encoding *enc)
{
    if (!net)
        return SYN_ERR_INVALID_ARGUMENT;
    if (enc && enc->n_inputs != net->n_inputs)
        return SYN_ERR_SHAPE;
    syn_encoding *copy = NULL;
    if (enc) {
        syn_status st = syn_encoding_clone(enc, &copy);
        if (st != SYN_OK)
            return st;
    }
    syn_encoding_free(net->encoding);
    net->encoding = copy;
    return SYN_OK;
}
